"""The runner host: a fresh worker per run, every way a worker ends becomes a typed error."""

from __future__ import annotations

import faulthandler
import json
import os
import pathlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from runner._service import run_response
from runner.host._host import Job, RunnerHost
from runner.host._warm import warm
from tests.runner.by_method import ByMethod
from tests.support.processes import wait_for

ACTION = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "{body}\n"
    "action = create_action(description='t', exec=run)\n"
)


def _job(body: str, **limits: Any) -> Job:
    source = ACTION.format(body="\n".join("    " + line for line in body.splitlines()))
    return Job(
        run_id=f"r-{os.urandom(4).hex()}",
        kind="action",
        function_name="f",
        entry="f.py",
        files={"f.py": source},
        input={"n": 2},
        **limits,
    )


class Recorder(ByMethod):
    """A callback handler that records calls and answers from a table."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers = answers or {}

    def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        self.calls.append((method, args))
        return self.answers.get(method)


@pytest.fixture(scope="module")
def host() -> Iterator[RunnerHost]:
    from runner.host._containment import make_containment  # noqa: PLC0415

    contain, layers = make_containment(strict=False)
    runner_host = RunnerHost(contain, warm, prewarm=1, layers=layers)
    yield runner_host
    runner_host.close()


def test_action_output_and_sdk_calls(host: RunnerHost) -> None:
    handler = Recorder({"get_metadata": {"a": 1}})
    outcome = host.execute(
        _job("nango.log('hi')\nreturn {'m': nango.get_metadata(), 'n': input['n']}"), handler
    )
    assert outcome.ok, outcome.error
    assert outcome.output == {"m": {"a": 1}, "n": 2}
    assert [c[0] for c in handler.calls] == ["log", "get_metadata"]


def test_every_run_gets_a_new_worker(host: RunnerHost) -> None:
    pids = {host.execute(_job("return 1"), Recorder()).worker_pid for _ in range(3)}
    assert len(pids) == 3
    assert os.getpid() not in pids


def test_wall_clock_limit_kills_the_worker(host: RunnerHost) -> None:
    outcome = host.execute(_job("while True:\n    pass", wall_seconds=0.5), Recorder())
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error["type"] == "execution_timeout"
    assert host.execute(_job("return 'still fine'"), Recorder()).output == "still fine"


def test_cpu_limit_is_resource_exhausted(host: RunnerHost) -> None:
    outcome = host.execute(
        _job("while True:\n    pass", cpu_seconds=1, wall_seconds=20), Recorder()
    )
    assert outcome.error is not None
    assert outcome.error["type"] == "resource_exhausted"
    assert outcome.error["payload"]["resource"] in {"cpu", "memory_or_cpu"}


def test_memory_limit_is_resource_exhausted(host: RunnerHost) -> None:
    body = "blocks = []\nwhile True:\n    blocks.append('x' * 10_000_000)"
    outcome = host.execute(_job(body, memory_bytes=300 << 20), Recorder())
    assert outcome.error is not None
    assert outcome.error["type"] == "resource_exhausted"


def test_memory_used_up_and_kept_still_gets_a_typed_error(host: RunnerHost) -> None:
    # The function catches MemoryError and keeps the memory (a global): reporting its error
    # then has nothing left to allocate with. It used to end as runner_error (exit code 1).
    body = (
        "global hog\n"
        "hog = []\n"
        "try:\n"
        "    while True:\n"
        "        hog.append([0] * 64)\n"
        "except MemoryError:\n"
        "    pass\n"
        "try:\n"
        "    while True:\n"
        "        hog.append(1.5 + len(hog))\n"
        "except MemoryError:\n"
        "    pass\n"
        "raise ValueError('after using up the memory')"
    )
    outcome = host.execute(_job(body, memory_bytes=300 << 20), Recorder())
    assert outcome.error is not None
    assert outcome.error["type"] in {"resource_exhausted", "script_internal_error"}, outcome.error


def test_output_over_the_limit_is_resource_exhausted(host: RunnerHost) -> None:
    outcome = host.execute(_job("return 'x' * 2_000_000", max_output_bytes=1_000_000), Recorder())
    assert outcome.error is not None
    assert outcome.error["type"] == "resource_exhausted"
    assert outcome.error["payload"]["resource"] == "output"


def test_sdk_call_failure_reaches_the_function_as_typed_error(host: RunnerHost) -> None:
    from corral.errors import RunFailure  # noqa: PLC0415

    class Failing(Recorder):
        def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
            raise RunFailure("script_network_error", "refused", payload={"code": "ECONNREFUSED"})

    outcome = host.execute(_job("nango.get(endpoint='/x')"), Failing())
    assert outcome.error is not None
    assert outcome.error["type"] == "script_network_error"
    assert outcome.error["payload"] == {"code": "ECONNREFUSED"}


def test_a_crashing_worker_is_a_typed_error_and_the_host_survives() -> None:
    class Crash:
        def prepare_idle(self, sock: socket.socket) -> None:
            pass

        def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
            faulthandler.disable()  # pytest's handler, inherited through fork, would print
            os.kill(os.getpid(), signal.SIGSEGV)

        def cleanup(self, pid: int) -> None:
            pass

    crashing = RunnerHost(Crash(), warm, prewarm=0)
    try:
        outcome = crashing.execute(_job("return 1"), Recorder())
        assert outcome.error is not None
        assert outcome.error["type"] == "script_internal_error"
        assert "SIGSEGV" in outcome.error["message"]
    finally:
        crashing.close()


def test_a_worker_sending_garbage_breaks_the_protocol() -> None:
    class Garbage:
        def prepare_idle(self, sock: socket.socket) -> None:
            pass

        def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
            sock.sendall(b"\x00\x00\x00\x05nope!")
            os._exit(0)

        def cleanup(self, pid: int) -> None:
            pass

    host = RunnerHost(Garbage(), warm, prewarm=0)
    try:
        outcome = host.execute(_job("return 1"), Recorder())
        assert not outcome.ok
        assert outcome.error is not None
        assert outcome.error["type"] == "worker_protocol_violation"
    finally:
        host.close()


class _Sends:
    """Containment that makes the worker send one frame of its own and exit (assume breach)."""

    def __init__(self, frame: bytes) -> None:
        self.frame = frame

    def prepare_idle(self, sock: socket.socket) -> None:
        pass

    def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
        sock.sendall(len(self.frame).to_bytes(4, "big") + self.frame)
        os._exit(0)

    def cleanup(self, pid: int) -> None:
        pass


def test_a_breached_worker_cannot_fail_the_run_rpc_with_its_error() -> None:
    error = {"type": "x\ud800", "message": ["m"], "payload": {"p": 1}, "file": 7, "line": 2**40}
    frame = json.dumps({"op": "done", "ok": False, "error": error}).encode()
    host = RunnerHost(_Sends(frame), warm, prewarm=0)
    try:
        outcome = host.execute(_job("return 1"), Recorder())
    finally:
        host.close()
    assert outcome.error is not None
    assert outcome.error["type"] == "worker_protocol_violation"
    assert "\ud800" not in json.dumps(outcome.error)
    run_response(outcome)


def test_a_worker_sending_a_frame_nested_too_deep_breaks_the_protocol() -> None:
    depth = 200_000
    host = RunnerHost(_Sends(b"[" * depth + b"]" * depth), warm, prewarm=0)
    try:
        outcome = host.execute(_job("return 1"), Recorder())
    finally:
        host.close()
    assert outcome.error is not None
    assert outcome.error["type"] == "worker_protocol_violation"


def test_cancel_kills_a_run_in_progress(host: RunnerHost) -> None:
    import threading  # noqa: PLC0415

    job = _job("while True:\n    pass", wall_seconds=30)
    timer = threading.Timer(0.5, lambda: host.cancel(job.run_id))
    timer.start()
    outcome = host.execute(job, Recorder())
    timer.join()
    assert outcome.error is not None
    assert outcome.error["type"] == "execution_cancelled"


def test_a_finished_worker_leaves_no_cgroup(host: RunnerHost) -> None:
    """Looked for where this host's workers' cgroups go (the warm parent is this process's
    child, in its cgroup): another host's worker given the same pid meanwhile is elsewhere."""
    import time  # noqa: PLC0415

    from sandbox.os import _cgroups  # noqa: PLC0415

    try:
        layout = _cgroups.locate("/sys/fs/cgroup")
    except OSError as exc:
        pytest.skip(f"no cgroups here: {exc}")
    if "cgroups" in host.layers.get("layers_missing", ()):
        pytest.skip("workers get no cgroup here")
    pid = host.execute(_job("return 1"), Recorder()).worker_pid
    parents = [pathlib.Path(parent) for parent in layout.parents.values()]
    # The place is right: the worker made for the next run has its cgroup there.
    assert wait_for(lambda: all(any(p.glob("worker-*")) for p in parents), 5)
    paths = [parent / f"worker-{pid}" for parent in parents]
    deadline = time.monotonic() + 5
    while any(path.exists() for path in paths):
        assert time.monotonic() < deadline, "the worker's cgroup was not removed"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("method", "call"),
    [("proxy", "nango.get(endpoint='/slow')"), ("get_connection", "nango.get_connection()")],
    ids=["proxied-request", "get-connection-fetching-a-token"],
)
def test_a_worker_killed_during_a_slow_sdk_call_ends_the_run_at_once(
    host: RunnerHost, method: str, call: str
) -> None:
    """The host does not wait for the SDK call's answer (here 30 s away) to see the worker die:
    a proxied request's upstream, or the token endpoint ``get_connection`` may have to ask."""
    calling = threading.Event()
    release = threading.Event()
    pids: list[int] = []
    job = _job(f"return {call}", wall_seconds=60)

    class Slow(Recorder):
        def answer(self, asked: str, args: dict[str, Any], deadline: float) -> Any:
            if asked == method:  # an upstream that takes 30 s to answer
                calling.set()
                release.wait(30)
            return None

    def kill_the_worker() -> None:
        assert calling.wait(30)
        with host._lock:
            worker = host._running[job.run_id]  # (a compile run of its files may run beside)
        pids.append(worker.pid)
        os.kill(worker.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    started = time.monotonic()
    try:
        outcome = host.execute(job, Slow())
    finally:
        release.set()
        killer.join()
    assert time.monotonic() - started < 10
    assert outcome.error is not None
    assert outcome.error["type"] == "resource_exhausted", outcome.error
    assert outcome.worker_pid == pids[0]
    assert host.execute(_job("return 'still fine'"), Recorder()).output == "still fine"


def test_compile_runs_are_not_runs_in_progress(host: RunnerHost) -> None:
    # A program's first run asks for a compile run beside it; the runner's status (what the
    # orchestrator places runs and drains by) counts only the clients' runs. A large file
    # keeps the compile run going while the status is read.
    source = "".join(f"x_{n} = [{n}, '{n}']\n" for n in range(20_000))
    files = _job(source)
    compiling = threading.Thread(target=host._compile, args=(files,))
    compiling.start()
    try:
        deadline = time.monotonic() + 30
        while not (host._compiling and host._running.keys() & host._compiling):
            assert time.monotonic() < deadline, "the compile run did not start"
            time.sleep(0.005)
        assert host.status()["runs_in_progress"] == 0
    finally:
        compiling.join(60)
