"""``corral trigger sync`` at a real terminal (a pseudo-terminal): it draws the running sync's
progress, then prints the run id once the sync ended."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e.test_sync_progress import SYNC
from tests.support.fake_api import FakeApi, running_held_api
from tests.support.service import Service, running_service

pytestmark = pytest.mark.slow


@pytest.fixture
def upstream() -> Iterator[tuple[FakeApi, threading.Event]]:
    with running_held_api([]) as held:
        yield held


@pytest.fixture
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("progress-tty")) as svc:
        yield svc


def _read_until(fd: int, seen: bytearray, wanted: bytes, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: the command ended
                return wanted in seen
            if not chunk:
                return wanted in seen
            seen += chunk
    return True


def test_trigger_sync_at_a_terminal_draws_the_progress_then_the_run_id(
    service: Service, upstream: tuple[FakeApi, threading.Event]
) -> None:
    api, slow = upstream
    with Client(service.address, service.secret_key) as client:
        client.call("Deploy", pb.DeployRequest(integration="shop", files={"waits.py": SYNC}))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
        )
    main, terminal = pty.openpty()
    env = os.environ | {"CORRAL_SERVER": service.address, "CORRAL_SECRET_KEY": service.secret_key}
    command = [sys.executable, "-m", "corral", "trigger", "sync", "waits", "--connection", "c"]
    at_terminal = {"stdin": terminal, "stdout": terminal, "stderr": terminal}
    with subprocess.Popen(command, env=env, **at_terminal) as run:
        os.close(terminal)
        seen = bytearray()
        try:
            progress = b"syncing: 3 records saved (3 added, 0 updated, 0 deleted), 1 requests"
            assert _read_until(main, seen, progress, 60), seen.decode(errors="replace")
            slow.set()
            assert _read_until(main, seen, b"run_id", 60), seen.decode(errors="replace")
            assert run.wait(timeout=60) == 0
        finally:
            run.kill()
            os.close(main)
    shown = seen.decode(errors="replace")
    last_drawn = shown.rindex("syncing:")
    assert "\r" in shown[last_drawn:]  # drawn in place, then cleared
    assert "run_id" in shown[last_drawn:]  # the answer comes after it
