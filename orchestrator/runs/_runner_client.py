"""Reaching runner hosts: one channel per runner for all runs, and local runner processes."""

from __future__ import annotations

import contextlib
import itertools
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence

import grpc
import structlog

from corral import _grpc_errors
from corral.errors import RunFailure, Unavailable
from corral.v1 import runner_pb2, runner_pb2_grpc

_log = structlog.get_logger("corral.orchestrator")

KEEPALIVE_SECONDS = 5.0
"""How often the orchestrator pings a runner during a run, and how long it waits for the answer.
Servers accept pings this often (``corral._server.MIN_PING_INTERVAL_MS``)."""


def _options() -> list[tuple[str, int]]:
    keepalive_ms = int(KEEPALIVE_SECONDS * 1000)
    return [
        ("grpc.max_receive_message_length", 64 << 20),
        ("grpc.max_send_message_length", 64 << 20),
        # While a run is on a runner, an HTTP/2 ping every KEEPALIVE_SECONDS: a runner that
        # stops answering (frozen, its machine gone without closing the connection) fails the
        # call KEEPALIVE_SECONDS later, not at the run's wall-clock limit. A runner that dies
        # closes the connection, which fails the call at once.
        ("grpc.keepalive_time_ms", keepalive_ms),
        ("grpc.keepalive_timeout_ms", keepalive_ms),
        ("grpc.http2.ping_timeout_ms", keepalive_ms),  # the one grpcio 1.85 heeds
        ("grpc.http2.max_pings_without_data", 0),  # a run sends nothing for minutes: go on
    ]


GAVE_UP = frozenset({grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})


def cancel_on(stub: runner_pb2_grpc.RunnerStub, run_id: str) -> bool:
    """Asks one runner to kill a run; False when it has no such run or cannot be reached."""
    with contextlib.suppress(grpc.RpcError):
        response = stub.Cancel(runner_pb2.CancelRequest(run_id=run_id), timeout=5)
        return bool(response.cancelled)
    return False


def runner_channel(
    address: str, credentials: grpc.ChannelCredentials | None = None
) -> grpc.Channel:
    """A channel to one runner's Runner API: mutual TLS with ``credentials``, else plaintext."""
    if credentials is None:
        return grpc.insecure_channel(address, options=_options())
    return grpc.secure_channel(address, credentials, options=_options())


class RunnerChannels:
    """Sends runs to a fixed set of runner hosts, each to the one with the fewest runs going
    (ties: the next in turn). This orchestrator is their only user, so its own count is their
    load."""

    def __init__(
        self, addresses: Sequence[str], credentials: grpc.ChannelCredentials | None = None
    ) -> None:
        """Args:
        addresses: the runners' addresses.
        credentials: mutual TLS to the runners (None: plaintext).
        """
        if not addresses:
            raise ValueError("at least one runner address is needed")
        self._addresses = list(addresses)
        self._channels = [runner_channel(a, credentials) for a in addresses]
        self._stubs = [runner_pb2_grpc.RunnerStub(c) for c in self._channels]
        self._next = itertools.cycle(range(len(self._stubs)))
        self._going = [0] * len(self._stubs)
        self._lock = threading.Lock()

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        """Executes a run on the least loaded runner."""
        with self._lock:
            turn = next(self._next)
            order = [(turn + step) % len(self._stubs) for step in range(len(self._stubs))]
            index = min(order, key=lambda i: self._going[i])
            self._going[index] += 1
        try:
            return self._run_on(self._stubs[index], request, timeout)
        finally:
            with self._lock:
                self._going[index] -= 1

    def _run_on(
        self, stub: runner_pb2_grpc.RunnerStub, request: runner_pb2.RunRequest, timeout: float
    ) -> runner_pb2.RunResponse:
        try:
            response: runner_pb2.RunResponse = stub.Run(
                request, timeout=timeout, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code in GAVE_UP:
                # The runner also kills the worker when the call ends; asking it outright
                # covers a runner that did not see the call end.
                cancel_on(stub, request.run_id)
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise RunFailure("execution_timeout", "the runner did not answer in time") from None
            raise _grpc_errors.from_rpc_error(exc) from None
        return response

    def cancel(self, run_id: str) -> bool:
        """Asks every runner to kill the run."""
        cancelled = False
        for stub in self._stubs:
            cancelled |= cancel_on(stub, run_id)
        return cancelled

    def status(self) -> list[runner_pb2.RunnerStatusResponse]:
        """Every runner's status."""
        return [stub.Status(runner_pb2.RunnerStatusRequest(), timeout=5) for stub in self._stubs]

    def statuses(self) -> list[tuple[str, runner_pb2.RunnerStatusResponse | None]]:
        """Every runner's address and status (None: it did not answer)."""
        out: list[tuple[str, runner_pb2.RunnerStatusResponse | None]] = []
        for address, stub in zip(self._addresses, self._stubs, strict=True):
            try:
                out.append((address, stub.Status(runner_pb2.RunnerStatusRequest(), timeout=2)))
            except grpc.RpcError:
                out.append((address, None))
        return out

    def close(self) -> None:
        """Closes the channels."""
        for channel in self._channels:
            channel.close()


def runner_environment(
    environ: Mapping[str, str], prewarm: int, strict: bool, tls_env: Mapping[str, str]
) -> dict[str, str]:
    """The environment of a local runner: this process's without any ``CORRAL_*`` variable, in
    any case (the settings read ``corral_secrets_key`` as ``CORRAL_SECRETS_KEY``: the store's
    key, the database URL and the API's secrets are never a runner's), and its own settings."""
    kept = {k: v for k, v in environ.items() if not k.upper().startswith("CORRAL_")}
    return kept | {
        "CORRAL_RUNNER_PREWARM_WORKERS": str(prewarm),
        "CORRAL_RUNNER_STRICT_CONTAINMENT": "true" if strict else "false",
        **tls_env,  # the runners' certificate, key and CA
    }


class LocalRunners:
    """Runner host processes on this machine, started and stopped with the orchestrator.

    A runner that dies is started again on the same port (the orchestrator's channel to it
    reconnects by itself); runs it had in progress fail with a typed error, other runners and
    the orchestrator carry on.

    Each runner dies with the orchestrator, however it ends (kill -9 included): it asks the
    kernel for SIGKILL when its parent thread ends (``--parent-pid``). So runners are started
    only from threads that outlive them: the constructor's and the supervisor, which waits for
    ``stop`` to have reaped them before it returns.
    """

    RESTART_PAUSE = 1.0
    """Seconds between two starts of the same runner, so a runner that cannot start is not
    restarted in a tight loop."""

    def __init__(
        self,
        count: int,
        callbacks: str,
        prewarm: int,
        strict: bool,
        log_format: str,
        *,
        runtime_dir: pathlib.Path,
        log_level: str = "info",
        metrics_addresses: Sequence[str] = (),
        tls_env: Mapping[str, str] | None = None,
    ) -> None:
        """``metrics_addresses``: where each runner serves its metrics (none: it serves none)."""
        self._dir = runtime_dir / "runners"
        self._metrics = list(metrics_addresses)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._callbacks = callbacks
        self._log_format = log_format
        self._log_level = log_level
        self._env = runner_environment(os.environ, prewarm, strict, tls_env or {})
        self._ports: dict[int, int] = {}
        self._stopping = threading.Event()
        self._reaped = threading.Event()
        self._restart_lock = threading.Lock()
        self._processes = [self._spawn(index, 0) for index in range(count)]
        self._supervisor: threading.Thread | None = None

    def _spawn(self, index: int, port: int) -> subprocess.Popen[bytes]:
        command = [
            sys.executable, "-m", "corral", "runner", "--callbacks", self._callbacks,
            "--port", str(port), "--port-file", str(self._dir / f"runner-{index}.port"),
            "--log-format", self._log_format, "--log-level", self._log_level,
            "--parent-pid", str(os.getpid()),
        ]  # fmt: skip
        if index < len(self._metrics):
            command += ["--metrics-address", self._metrics[index]]
        # Their own session: a Ctrl-C at the terminal reaches the orchestrator, which stops
        # them after the grace period of in-flight runs.
        return subprocess.Popen(command, env=self._env, start_new_session=True)

    def supervise(self) -> None:
        """Starts watching the runners, restarting any that dies (call after ``addresses``)."""
        self._supervisor = threading.Thread(
            target=self._watch, name="runner-supervisor", daemon=True
        )
        self._supervisor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(self.RESTART_PAUSE):
            with self._restart_lock:
                for index, process in enumerate(self._processes):
                    if process.poll() is None or self._stopping.is_set():
                        continue
                    _log.warning(
                        "runner died; starting it again",
                        runner=index,
                        exit_code=process.returncode,
                        port=self._ports.get(index),
                    )
                    self._processes[index] = self._spawn(index, self._ports.get(index, 0))
        # A runner started here gets SIGKILL when this thread ends: not before stop reaped it.
        self._reaped.wait()

    def addresses(self, timeout: float = 30.0) -> list[str]:
        """The runners' addresses, once each has started."""
        deadline = time.monotonic() + timeout
        out = []
        for index, process in enumerate(self._processes):
            port_file = self._dir / f"runner-{index}.port"
            while not port_file.exists():
                if process.poll() is not None:
                    raise Unavailable(f"runner {index} exited with code {process.returncode}")
                if time.monotonic() > deadline:
                    raise Unavailable(f"runner {index} did not start in {timeout:g} s")
                time.sleep(0.02)
            self._ports[index] = int(port_file.read_text().strip())
            out.append(f"127.0.0.1:{self._ports[index]}")
        return out

    def stop(self, grace: float) -> None:
        """SIGTERMs the runners, waits up to ``grace`` seconds, then kills them."""
        self._stopping.set()
        try:
            self._stop_processes(grace)
        finally:
            self._reaped.set()
            if self._supervisor is not None:
                self._supervisor.join(timeout=5)
            shutil.rmtree(self._dir, ignore_errors=True)

    def _stop_processes(self, grace: float) -> None:
        with self._restart_lock:  # no restart after this: ``_stopping`` is set
            for process in self._processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self._processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
