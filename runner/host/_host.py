"""The runner host: executes runs in fresh workers and answers their SDK calls.

A run's SDK calls (RunnerCallbacks requests, checked by ``runner.host._frames`` and wrapped by the
run's rules in ``runner.host._run_calls``) are answered by a ``CallbackHandler``: in production it
forwards them to the orchestrator's RunnerCallbacks service with the run token; for an offline
dry run, to the same service over a scratch store. Either way the worker, the sandbox and the
limits are the same.
"""

from __future__ import annotations

import contextvars
import os
import select
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import structlog
from google.protobuf.message import Message

from corral._error_shapes import ErrorValue, from_json, to_json
from corral._memory import release_after
from corral.errors import CorralError, InvalidRequest, RunFailure
from corral.limits import CEILING, COMPILE_RUN_WALL_SECONDS, DEFAULTS, RunLimits, check_within
from corral.limits import FIELDS as LIMIT_FIELDS
from runner import _protocol as protocol
from runner._context import RunContext
from runner.host import _frames as frames
from runner.host._calls import Serialized
from runner.host._compiled import CompiledPrograms, CompileJob
from runner.host._pool import Worker, WorkerPool
from runner.host._run_calls import CallbackHandler, HangsUp, RunCalls, answered_from_store
from runner.host._zygote import Contain, Warm

_log = structlog.get_logger("corral.runner")

_ACTION = DEFAULTS["action"]


@dataclass(frozen=True)
class Job:
    """One run to execute (or, with ``mode="describe"``, the definitions of an integration)."""

    run_id: str
    kind: str
    function_name: str
    entry: str
    files: Mapping[str, str]
    input: Any = None
    context: RunContext = field(default_factory=RunContext)
    wall_seconds: float = _ACTION.wall_seconds
    cpu_seconds: int = _ACTION.cpu_seconds
    memory_bytes: int = _ACTION.memory_bytes
    max_output_bytes: int = _ACTION.max_output_bytes
    max_open_files: int = _ACTION.max_open_files
    mode: str = "run"
    max_run_output_bytes: int = _ACTION.max_run_output_bytes
    """Every byte the worker may send in this run, across all its frames (the runner's count:
    the worker is never asked)."""
    scope: str = ""
    """Whose compiled programs this job may share (the environment): a program compiled for
    one environment is never handed to another's runs (``runner.host._compiled``)."""

    @property
    def limits(self) -> RunLimits:
        """The job's limits (by default an action's, from ``corral.limits``)."""
        return RunLimits(**{name: getattr(self, name) for name in LIMIT_FIELDS})

    def message(self) -> dict[str, Any]:
        """The ``run`` message for the worker."""
        limits = {
            "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_bytes,
            "max_output_bytes": self.max_output_bytes,
            "max_open_files": self.max_open_files,
        }
        return {
            "op": "run",
            "run_id": self.run_id,
            "mode": self.mode,
            "kind": self.kind,
            "function_name": self.function_name,
            "entry": self.entry,
            "files": dict(self.files),
            "input": self.input,
            "context": self.context.to_wire(),
            "limits": limits,
        }


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``output`` when ok, else ``error`` (type, message, payload, ...)."""

    ok: bool
    output: Any = None
    error: Mapping[str, Any] | None = None
    duration_seconds: float = 0.0
    worker_pid: int = 0


class RunnerHost:
    """Runs jobs in workers forked from the warm parent, one worker per run.

    A job whose limits are above ``ceiling`` (``corral.limits.CEILING``, which the workers are
    contained at) or not positive ends as ``invalid_limits`` before any worker sees it.
    """

    def __init__(
        self,
        contain: Contain | None,
        warm: Warm,
        prewarm: int = 2,
        layers: Mapping[str, Any] | None = None,
        ceiling: RunLimits = CEILING,
        *,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        """``on_lost``: called when the warm parent dies (this host can run nothing more)."""
        self.ceiling = ceiling
        self._pool = WorkerPool(contain, warm, prewarm, on_lost)
        self._running: dict[str, Worker] = {}
        self._hang_ups: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self.layers: Mapping[str, Any] = dict(layers or {})
        self._compiled = CompiledPrograms(self._compile)
        self._compiling: set[str] = set()  # run ids of compile runs: not the clients' runs

    def status(self) -> dict[str, Any]:
        """Runs in progress (compile runs are the host's own, not counted), idle workers and
        the isolation layers."""
        with self._lock:
            running = len(self._running.keys() - self._compiling)
        return {"runs_in_progress": running, "idle_workers": self._pool.idle_count(), **self.layers}

    def cancel(self, run_id: str) -> bool:
        """Kills the worker of a run in progress."""
        with self._lock:
            worker = self._running.get(run_id)
        if worker is None:
            return False
        worker.cancelled = True
        worker.kill()
        with self._lock:
            hang_up = self._hang_ups.get(run_id)
        if hang_up is not None:
            hang_up()  # an SDK call in progress ends now, not at the run's deadline
        return True

    def execute(self, job: Job, handler: CallbackHandler) -> Outcome:
        """Runs the job to its end in a fresh worker; never raises for the job's own failures."""
        refused = _refusal(job, self.ceiling)
        if refused is not None:
            return refused
        started = time.monotonic()
        deadline = started + job.wall_seconds
        worker = self._pool.take()
        with self._lock:
            self._running[job.run_id] = worker
            if isinstance(handler, HangsUp):
                self._hang_ups[job.run_id] = handler.hang_up
        answering = futures.ThreadPoolExecutor(1, thread_name_prefix=f"calls-{job.run_id}")
        try:
            protocol.send(worker.sock, self._message(job), deadline)
            hang_up = handler.hang_up if isinstance(handler, HangsUp) else None
            calls = _WatchedCalls(RunCalls(handler), worker, answering, hang_up)
            outcome = self._converse(worker, job, calls, deadline)
        except RunFailure as failure:
            outcome = Outcome(ok=False, error=failure.to_dict())
        except protocol.FrameTimeout:
            outcome = _timeout(job)
        except protocol.ChannelClosed:
            outcome = self._died(worker, job, deadline)
        finally:
            with self._lock:
                self._running.pop(job.run_id, None)
                self._hang_ups.pop(job.run_id, None)
            worker.close()
            answering.shutdown(wait=False)
        return Outcome(
            outcome.ok, outcome.output, outcome.error, time.monotonic() - started, worker.pid
        )

    def _message(self, job: Job) -> dict[str, Any]:
        """The job's ``run`` message, with its program's compiled files when a compile run
        made them (``runner.host._compiled``)."""
        message = job.message()
        if job.mode == "run":
            codes = self._compiled.codes_for(job)
            if codes is not None:
                message["compiled"] = codes
        return message

    def _compile(self, job: CompileJob) -> Any:
        """A compile run of ``job``'s files in a worker of its own: its output, or None."""
        compile_job = Job(
            run_id=f"compile-{uuid.uuid4().hex}",
            kind="action",
            function_name="",
            entry=job.entry,
            files=job.files,
            mode="compile",
            scope=job.scope,
            wall_seconds=COMPILE_RUN_WALL_SECONDS,
        )
        with self._lock:
            self._compiling.add(compile_job.run_id)
        try:
            outcome = self.execute(compile_job, _NO_CALLS)
        finally:
            with self._lock:
                self._compiling.discard(compile_job.run_id)
        return outcome.output if outcome.ok else None

    def _converse(self, worker: Worker, job: Job, calls: _WatchedCalls, deadline: float) -> Outcome:
        """Reads the worker's frames until it is done; every frame is checked, and the run's
        deadline holds across partial frames, replies included."""
        received = 0
        while True:
            try:
                data = protocol.recv_bytes(worker.sock, job.max_output_bytes, deadline)
                received += len(data) + 4
                if received > job.max_run_output_bytes:
                    raise _output_exhausted(job.max_run_output_bytes)
                message = frames.parse(data)
                op = message["op"]
                if op == "violation":
                    worker.kill()
                    return Outcome(ok=False, error=_violation(message))
                if op == "done":
                    return _done(message)
                _send_reply(worker.sock, message["id"], calls.answer(message, deadline), deadline)
            except protocol.FrameTimeout:
                worker.kill()
                return _timeout(job)
            except protocol.ChannelClosed:
                return self._died(worker, job, deadline)
            except RunFailure as failure:  # a frame too large or breaking the protocol
                worker.kill()
                return Outcome(ok=False, error=failure.to_dict())

    def _died(self, worker: Worker, job: Job, deadline: float) -> Outcome:
        if worker.cancelled:
            return Outcome(ok=False, error=_error("execution_cancelled", "the run was cancelled"))
        if time.monotonic() >= deadline:
            return _timeout(job)
        status = self._pool.wait_status(worker.pid, 5.0)
        if status is None:
            worker.kill()
            if self._pool.closed():
                gone = "the worker ended without a result: the runner's warm parent is gone"
                return Outcome(ok=False, error=_error("runner_error", gone))
        return Outcome(ok=False, error=classify_exit(status, job))

    def close(self) -> None:
        """Kills running workers and stops the warm parent."""
        with self._lock:
            running = list(self._running.values())
        for worker in running:
            worker.kill()
        self._compiled.close()
        self._pool.close()


class _NoCalls:
    """The callback handler of a compile run: its worker runs nothing, so it calls nothing."""

    def call(self, rpc: str, request: Message, deadline: float) -> Message | Serialized:
        """Refuses the call."""
        del request, deadline
        raise RunFailure("runner_error", f"a compile run makes no SDK call ({rpc})")


_NO_CALLS = _NoCalls()

WATCH_SECONDS = 0.05
"""While a run's SDK call is answered, how often the host looks whether its worker died."""


class _WatchedCalls:
    """A run's SDK calls that may wait on an upstream or a nested run (a proxied request,
    ``get_connection`` fetching a token, ``trigger_action``), answered on a thread of their own
    while the host watches the worker;
    every other call is answered from the store in a moment, on the host's thread, without a
    hand-off (``answered_from_store``: about 0.05 ms of each call).

    A worker that dies (kill -9, its warm parent gone) during a call that waits (an upstream
    that answers slowly) ends the run at once, not when the call returns; the call still in
    flight is hung up (``hang_up``: the orchestrator stops its work), and its reply goes
    nowhere.
    """

    def __init__(
        self,
        calls: RunCalls,
        worker: Worker,
        pool: futures.ThreadPoolExecutor,
        hang_up: Callable[[], None] | None = None,
    ) -> None:
        self._calls = calls
        self._worker = worker
        self._pool = pool
        self._hang_up = hang_up

    def answer(
        self, message: dict[str, Any], deadline: float
    ) -> Message | Serialized | dict[str, Any]:
        """The response to a checked call, or the ``reply`` message of its error.

        Raises:
            protocol.ChannelClosed: the worker died before the reply was ready.
            protocol.FrameTimeout: the run's deadline passed first.
        """
        call_id, rpc = message["id"], message["rpc"]
        request = message.pop("request")  # the worker's request is not kept while the reply is
        if answered_from_store(request):  # no thread hand-off for a store call
            return _response(self._calls, call_id, rpc, request, deadline)
        # In the caller's context: its log context (and an in-process handler's) goes along.
        context = contextvars.copy_context()
        future = self._pool.submit(
            context.run, _response, self._calls, call_id, rpc, request, deadline
        )
        del request
        while True:
            done, _ = futures.wait([future], timeout=WATCH_SECONDS)
            if done:
                return future.result()
            if _exited(self._worker.pidfd):
                if self._hang_up is not None:
                    self._hang_up()
                raise protocol.ChannelClosed("the worker died during an SDK call")
            if time.monotonic() >= deadline:
                raise protocol.FrameTimeout("the run's deadline passed during an SDK call")


def _exited(pidfd: int) -> bool:
    """A pidfd becomes readable when its process has ended."""
    try:
        readable, _, _ = select.select([pidfd], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _send_reply(
    sock: socket.socket,
    call_id: int,
    response: Message | Serialized | dict[str, Any],
    deadline: float,
) -> None:
    """Sends the reply to a checked call (``runner.host._frames``): the RPC's response, or its
    error.

    The response is sent as its own frame and dropped at once; after a large one (a proxied
    body) the freed pages go back to the system (``corral._memory``), so a runner's memory
    returns to where it was when its large responses are done.
    """
    if isinstance(response, dict):
        protocol.send(sock, response, deadline)
        return
    data = response.data if isinstance(response, Serialized) else response.SerializeToString()
    del response
    try:
        protocol.send_reply(sock, call_id, data, deadline)
    finally:
        size = len(data)
        del data
    release_after(size)


def _response(
    calls: RunCalls, call_id: int, rpc: str, request: Message, deadline: float
) -> Message | Serialized | dict[str, Any]:
    """The RPC's response message, or the ``reply`` message of its error."""
    try:
        return calls.call(rpc, request, deadline)
    except CorralError as err:  # a run failure as is, another error with its details as payload
        error = to_json(err.value, form="compact")
        return {"op": "reply", "id": call_id, "ok": False, "error": error}
    except Exception as exc:
        _log.exception("callback handler failed", rpc=rpc)
        return {
            "op": "reply",
            "id": call_id,
            "ok": False,
            "error": _error("runner_error", f"internal error in {rpc}: {type(exc).__name__}"),
        }


def _done(message: Mapping[str, Any]) -> Outcome:
    if message.get("ok"):
        return Outcome(ok=True, output=message.get("output"))
    error = message.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("type"), str):
        malformed = _error("runner_error", "the worker reported a malformed error")
        return Outcome(ok=False, error=malformed)
    # The worker runs untrusted code: from_json drops or replaces a field that would fail the
    # Run RPC (a line beyond int32, a lone surrogate in a string).
    return Outcome(ok=False, error=to_json(from_json(error)))


def _error(code: str, message: str, payload: Any = None) -> dict[str, Any]:
    return to_json(ErrorValue(code, message, payload), form="compact")


def _output_exhausted(limit: int) -> RunFailure:
    return RunFailure(
        "resource_exhausted",
        f"the run sent more than its {limit} bytes of output (calls, logs, records and result)",
        payload={"resource": "output", "limit": limit},
    )


def _violation(message: Mapping[str, Any]) -> dict[str, Any]:
    """The error of a run whose worker reported a guard violation (a checked frame)."""
    record = {key: message.get(key) for key in ("rule", "message", "file", "line")}
    return to_json(
        ErrorValue(
            "sandbox_violation",
            "the function broke a sandbox rule: " + str(record["message"]),
            payload={"rule": record["rule"]},
            file=record["file"] or "",
            line=record["line"] or 0,
        )
    )


def _refusal(job: Job, ceiling: RunLimits) -> Outcome | None:
    """``invalid_limits`` when the job's limits are not within ``ceiling``, else None."""
    try:
        check_within(job.limits, ceiling)
    except InvalidRequest as exc:
        message = f"the runner refuses the run: {exc.message}"
        return Outcome(ok=False, error=RunFailure(exc.code, message, payload=exc.details).to_dict())
    return None


def _timeout(job: Job) -> Outcome:
    return Outcome(
        ok=False,
        error=_error(
            "execution_timeout",
            f"the run exceeded its wall-clock limit of {job.wall_seconds:g} s",
            {"limit_seconds": job.wall_seconds},
        ),
    )


def classify_exit(status: int | None, job: Job) -> dict[str, Any]:
    """A typed error for a worker that ended without reporting a result."""
    if status is None:
        return _error("runner_error", "the worker ended without a result")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return _error(
                "resource_exhausted",
                f"the run used its {job.cpu_seconds} s of CPU time",
                {"resource": "cpu", "limit_seconds": job.cpu_seconds},
            )
        if sig == signal.SIGKILL:
            return _error(
                "resource_exhausted",
                "the worker was killed by the system (memory, CPU or process limit)",
                {"resource": "memory_or_cpu", "signal": "SIGKILL"},
            )
        name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
        return _error("script_internal_error", f"the worker crashed ({name})", {"signal": name})
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    if code == protocol.EXIT_OUT_OF_MEMORY:
        return _error("resource_exhausted", "the run ran out of memory", {"resource": "memory"})
    return _error("runner_error", f"the worker exited with code {code} without a result")
