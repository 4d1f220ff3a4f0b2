"""A running sync's progress: GetRun shows the records it saved and the requests it made while
it runs, and nothing once it ended; ``corral trigger sync`` at a real (pseudo-)terminal draws
it, then prints the run id."""

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
from tests.support.fake_api import FakeApi, running_held_api
from tests.support.service import Service, running_service

pytestmark = pytest.mark.slow

SYNC = (
    "from nango import create_sync\n"
    "from pydantic import BaseModel\n"
    "class Item(BaseModel):\n"
    "    id: str\n"
    "def fetch(nango):\n"
    "    nango.batch_save([{'id': str(n)} for n in range(3)], 'Item')\n"
    "    nango.batch_save([{'id': '0'}], 'Item')\n"
    "    nango.get(endpoint='/slow')\n"
    "    nango.batch_save([{'id': str(n)} for n in range(3, 5)], 'Item')\n"
    "sync = create_sync(description='waits for the test', frequency='every day',\n"
    "                   auto_start=False, models={'Item': Item}, exec=fetch)\n"
)


@pytest.fixture
def upstream() -> Iterator[tuple[FakeApi, threading.Event]]:
    with running_held_api([]) as held:
        yield held


@pytest.fixture
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("progress")) as svc:
        yield svc


def _deploy(client: Client, api: FakeApi) -> None:
    client.call("Deploy", pb.DeployRequest(integration="shop", files={"waits.py": SYNC}))
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
    )


def test_a_running_sync_shows_its_progress_and_an_ended_one_none(
    service: Service, upstream: tuple[FakeApi, threading.Event]
) -> None:
    api, slow = upstream
    with Client(service.address, service.secret_key) as client:
        _deploy(client, api)
        request = pb.TriggerSyncRequest(sync_name="waits", connection_id="c")
        setattr(request, "async", True)
        run_id = client.call("TriggerSync", request).run_id

        deadline = time.monotonic() + 60
        while True:  # until the sync waits on /slow with its first records saved
            run = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
            if run.progress.requests == 0:
                assert time.monotonic() < deadline, run
                time.sleep(0.05)
                continue
            break
        assert run.state == pb.RUN_STATE_RUNNING
        assert run.HasField("progress")
        assert run.progress.records_added == 3
        assert run.progress.records_updated == 0  # the same record again: unchanged
        assert run.progress.requests == 1

        slow.set()
        while (run := client.call("GetRun", pb.GetRunRequest(run_id=run_id))).state not in {
            pb.RUN_STATE_SUCCEEDED,
            pb.RUN_STATE_FAILED,
        }:
            assert time.monotonic() < deadline, run
            time.sleep(0.05)
        assert run.state == pb.RUN_STATE_SUCCEEDED, run.error
        assert not run.HasField("progress")


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
        _deploy(client, api)
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
