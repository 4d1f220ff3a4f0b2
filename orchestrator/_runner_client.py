"""Reaching runner hosts: one channel per runner for all runs, and local runner processes."""

from __future__ import annotations

import contextlib
import itertools
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence

import grpc

from corral import _grpc_errors
from corral.errors import RunFailure, Unavailable
from corral.v1 import runner_pb2, runner_pb2_grpc

_OPTIONS = [
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
]


class RunnerChannels:
    """Sends runs to a fixed set of runner hosts, round robin."""

    def __init__(self, addresses: Sequence[str]) -> None:
        if not addresses:
            raise ValueError("at least one runner address is needed")
        self._channels = [grpc.insecure_channel(a, options=_OPTIONS) for a in addresses]
        self._stubs = [runner_pb2_grpc.RunnerStub(c) for c in self._channels]
        self._next = itertools.cycle(range(len(self._stubs)))
        self._lock = threading.Lock()

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        """Executes a run on the next runner."""
        with self._lock:
            stub = self._stubs[next(self._next)]
        try:
            response: runner_pb2.RunResponse = stub.Run(
                request, timeout=timeout, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            if isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise RunFailure("execution_timeout", "the runner did not answer in time") from None
            raise _grpc_errors.from_rpc_error(exc) from None
        return response

    def cancel(self, run_id: str) -> bool:
        """Asks every runner to kill the run."""
        cancelled = False
        for stub in self._stubs:
            with contextlib.suppress(grpc.RpcError):
                cancelled |= stub.Cancel(
                    runner_pb2.CancelRequest(run_id=run_id), timeout=5
                ).cancelled
        return cancelled

    def status(self) -> list[runner_pb2.RunnerStatusResponse]:
        """Every runner's status."""
        return [stub.Status(runner_pb2.RunnerStatusRequest(), timeout=5) for stub in self._stubs]

    def close(self) -> None:
        """Closes the channels."""
        for channel in self._channels:
            channel.close()


class LocalRunners:
    """Runner host processes on this machine, started and stopped with the orchestrator."""

    def __init__(
        self, count: int, callbacks: str, prewarm: int, strict: bool, log_format: str
    ) -> None:
        self._dir = pathlib.Path(tempfile.mkdtemp(prefix="corral-runners-"))
        self._processes: list[subprocess.Popen[bytes]] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
        env |= {
            "CORRAL_RUNNER_PREWARM_WORKERS": str(prewarm),
            "CORRAL_RUNNER_STRICT_CONTAINMENT": "true" if strict else "false",
        }
        for index in range(count):
            port_file = self._dir / f"runner-{index}.port"
            command = [
                sys.executable,
                "-m",
                "corral",
                "runner",
                "--callbacks",
                callbacks,
                "--port",
                "0",
                "--port-file",
                str(port_file),
                "--log-format",
                log_format,
            ]
            # Their own session: a Ctrl-C at the terminal reaches the orchestrator, which stops
            # them after the grace period of in-flight runs.
            self._processes.append(subprocess.Popen(command, env=env, start_new_session=True))

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
            out.append(f"127.0.0.1:{port_file.read_text().strip()}")
        return out

    def stop(self, grace: float) -> None:
        """SIGTERMs the runners, waits up to ``grace`` seconds, then kills them."""
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
        for path in self._dir.iterdir():
            path.unlink()
        self._dir.rmdir()
