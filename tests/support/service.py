"""Starting `corral serve` as a real process for end-to-end tests."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Service:
    """A running orchestrator."""

    address: str
    secret_key: str
    process: subprocess.Popen[str]
    data_dir: pathlib.Path
    stderr_path: pathlib.Path


def _logs_start(env: Mapping[str, str]) -> bool:
    """Whether a serve with this environment logs its start line as JSON (at level info)."""
    level = env.get("CORRAL_LOG_LEVEL", "info").lower()
    return env.get("CORRAL_LOG_FORMAT") == "json" and level in ("debug", "info")


def _wait_for_line(
    path: pathlib.Path, marker: str, process: subprocess.Popen[str], timeout: float
) -> None:
    """Waits until the log at ``path`` holds ``marker`` (tests read the start line's ports)."""
    deadline = time.monotonic() + timeout
    while marker not in path.read_text():
        if process.poll() is not None:
            raise RuntimeError(f"corral serve exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"corral serve logged no {marker} in {timeout} s")
        time.sleep(0.02)


def _wait_for(path: pathlib.Path, process: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):  # created, then written: both
        if process.poll() is not None:
            raise RuntimeError(f"corral serve exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError("corral serve did not start")
        time.sleep(0.05)


@contextmanager
def running_service(
    data_dir: pathlib.Path, *, banner: bool | None = None, **settings: str
) -> Iterator[Service]:
    """`corral serve` on an ephemeral port; SIGTERM and a clean exit at the end.

    On a data dir that a previous serve used there is no first-start banner, so the secret key
    is "" (use the one the first serve showed). ``banner``: whether to read one (by default,
    when the data dir has no store yet; with CORRAL_DATABASE_URL, say it).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env |= {
        "CORRAL_PORT": "0",
        "CORRAL_DATA_DIR": str(data_dir),
        "CORRAL_LOG_FORMAT": "json",
        "CORRAL_PROXY_ALLOW_PRIVATE": "true",
        "CORRAL_PREWARM_WORKERS": "1",
        "CORRAL_SHUTDOWN_GRACE_SECONDS": "5",
    }
    env |= settings
    fresh = not (data_dir / "corral.db").exists() if banner is None else banner
    (data_dir / "orchestrator.port").unlink(missing_ok=True)  # a previous serve's
    stderr_path = data_dir.parent / (data_dir.name + ".stderr")
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "corral", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        _wait_for(data_dir / "orchestrator.port", process, 60)
        if _logs_start(env):  # its start line comes just after the port file
            _wait_for_line(stderr_path, '"orchestrator started"', process, 60)
        port = (data_dir / "orchestrator.port").read_text().strip()
        shown = ""
        if process.stdout is not None and fresh:
            shown = process.stdout.readline() + process.stdout.readline()
        match = re.search(r"(sk_\S+)", shown)
        yield Service(
            f"127.0.0.1:{port}", match.group(1) if match else "", process, data_dir, stderr_path
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def corral(
    service: Service, *args: str, cwd: pathlib.Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs the ``corral`` command against the service, as a user at a terminal would."""
    env = os.environ | {"CORRAL_SERVER": service.address, "CORRAL_SECRET_KEY": service.secret_key}
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def create_environment(
    service: Service, name: str, settings: Mapping[str, Any] | None = None
) -> str:
    """A new environment of the service, made as an operator does (``corral env create``, then
    ``corral env settings --set``); its secret key."""
    where = ("--data-dir", str(service.data_dir))
    created = corral(service, "env", "create", name, *where)
    if created.returncode:
        raise RuntimeError(f"corral env create failed: {created.stderr}")
    if settings:
        changed = corral(service, "env", "settings", name, "--set", json.dumps(settings), *where)
        if changed.returncode:
            raise RuntimeError(f"corral env settings failed: {changed.stderr}")
    return str(json.loads(created.stdout)["secret_key"])
