"""A running sync's progress through the API: GetRun shows the records it saved and the
requests it made while it runs, and nothing once it ended (what `corral trigger sync` draws)."""

from __future__ import annotations

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


def test_a_running_sync_shows_its_progress_and_an_ended_one_none(
    service: Service, upstream: tuple[FakeApi, threading.Event]
) -> None:
    api, slow = upstream
    with Client(service.address, service.secret_key) as client:
        client.call("Deploy", pb.DeployRequest(integration="shop", files={"waits.py": SYNC}))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
        )
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
