"""Starting `corral runner --orchestrator` processes that join a serve's fleet, for tests."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb

JOIN_SECRET = "fleet-secret-for-tests-0123456789"
"""The join secret of the tests' fleets."""


@dataclass
class Runner:
    """A joined runner process."""

    process: subprocess.Popen[str]
    address: str
    stderr_path: pathlib.Path


@contextmanager
def joined_runner(
    where: pathlib.Path, orchestrator: str, secret: str = JOIN_SECRET, **settings: str
) -> Iterator[Runner]:
    """``corral runner --orchestrator ORCHESTRATOR`` on a free port; SIGKILL at the end if it
    still runs (tests that stop it themselves wait for it first)."""
    where.mkdir(parents=True, exist_ok=True)
    port_file = where / "runner.port"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    secret_file = where / "join-secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    env |= {
        "CORRAL_RUNNER_JOIN_SECRET_FILE": str(secret_file),
        "CORRAL_RUNNER_PREWARM_WORKERS": "1",
    }
    env |= settings
    stderr_path = where / "runner.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "corral", "runner", "--orchestrator", orchestrator),
                *("--port-file", str(port_file), "--log-format", "json"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _written(port_file) and process.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError("corral runner did not start")
            time.sleep(0.05)
        address = f"127.0.0.1:{port_file.read_text().strip()}" if _written(port_file) else ""
        yield Runner(process, address, stderr_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


def _written(path: pathlib.Path) -> bool:
    """Whether the file exists and holds something (it is created, then written)."""
    return path.exists() and bool(path.read_text().strip())


def fleet(client: Client) -> dict[str, pb.RunnerInfo]:
    """ListRunners, by address."""
    runners = client.call("ListRunners", pb.ListRunnersRequest()).runners
    return {runner.address: runner for runner in runners}


def wait_until(check: object, timeout: float = 30.0) -> None:
    """Polls ``check`` (a callable) until it is true."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)
