"""kill -9 of `corral serve` with runs in flight, then a restart on the same data dir.

The runs the dead process left are ended as failed with ``orchestrator_restarted``, their
deletion tracking is gone, and the sync's schedule fires again, once, without a burst.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.storage._records import to_rfc3339
from tests.support.fake_api import FakeApi, running_hanging_api
from tests.support.service import Service, running_service

FREQUENCY = 30.0
"""The shortest interval a sync may have."""

FILES = {
    # The first run saves two records, starts deletion tracking, saves a checkpoint and waits
    # on an upstream that does not answer; a run that finds the checkpoint ends at once.
    "items.py": """
from nango import create_sync

def fetch(nango):
    if nango.get_checkpoint():
        nango.log('a run after the restart')
        return
    nango.batch_save([{'id': 'a'}, {'id': 'b'}], 'Item')
    nango.track_deletes_start('Item')
    nango.save_checkpoint({'waiting': True})
    nango.get(endpoint='/hang')

sync = create_sync(description='items', frequency='every 30 seconds', auto_start=True,
                   exec=fetch)
""",
    "wait.py": """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/hang').data

action = create_action(description='waits on the upstream', exec=run)
""",
}


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)


@pytest.fixture
def hanging_api() -> Iterator[FakeApi]:
    """An upstream whose ``/hang`` answers only when the test ends."""
    with running_hanging_api() as api:
        yield api


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (runners, warm parents, workers)."""
    children, found, todo = _children(), [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def _gone(pid: int) -> bool:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def _kill_everything(service: Service) -> None:
    """kill -9 of serve and of every process it started, as when the machine goes down."""
    pids = _tree(service.process.pid)
    assert len(pids) >= 4, pids  # serve, its runner, the warm parent, workers
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    service.process.wait(timeout=10)
    eventually(lambda: all(_gone(pid) for pid in pids), timeout=10)


def _store(data_dir: pathlib.Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "corral.db", timeout=10)


def _trackings(data_dir: pathlib.Path) -> tuple[int, int]:
    """How many deletion trackings there are, and how many records carry a mark of one."""
    with _store(data_dir) as db:
        trackings = db.execute("SELECT count(*) FROM delete_trackings").fetchone()[0]
        marked = db.execute("SELECT count(*) FROM records WHERE delete_mark IS NOT NULL")
        return int(trackings), int(marked.fetchone()[0])


def _sync_runs(client: Client) -> list[pb.Run]:
    request = pb.ListRunsRequest(connection_id="c", function_name="items")
    return list(client.call("ListRuns", request).runs)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_runs_left_by_a_killed_serve_end_typed_at_restart(
    tmp_path: pathlib.Path, hanging_api: FakeApi
) -> None:
    data_dir = tmp_path / "data"
    with running_service(data_dir) as first, Client(first.address, first.secret_key) as client:
        key = first.secret_key
        client.call("Deploy", pb.DeployRequest(integration="shop", files=FILES))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(
                integration="shop", connection_id="c", base_url=hanging_api.url
            ),
        )
        request = pb.TriggerActionRequest(action_name="wait", connection_id="c")
        setattr(request, "async", True)  # "async" is a Python keyword
        action = client.call("TriggerAction", request)
        # Both runs are inside their worker, waiting on the upstream; the sync has saved its
        # records and started deletion tracking.
        eventually(lambda: sum(seen.path == "/hang" for seen in hanging_api.seen) == 2)
        (sync_run,) = _sync_runs(client)
        for run_id in (sync_run.run_id, action.run_id):
            run = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
            assert run.state == pb.RUN_STATE_RUNNING
        assert _trackings(data_dir) == (1, 2)
        _kill_everything(first)

    # Three slots pass while nobody serves: the restart must fire the sync once, not three times.
    outage = datetime.now(UTC) - timedelta(seconds=3 * FREQUENCY)
    with _store(data_dir) as db:
        db.execute("UPDATE sync_schedules SET next_run_at = ?", (to_rfc3339(outage),))

    restarted = datetime.now(UTC)
    with running_service(data_dir) as second, Client(second.address, key) as client:
        for run_id in (sync_run.run_id, action.run_id):
            run = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
            assert run.state == pb.RUN_STATE_FAILED
            assert run.error.type == "orchestrator_restarted"
            assert "started again" in run.error.message
        assert _trackings(data_dir) == (0, 0)
        records = client.call(
            "ListRecords", pb.ListRecordsRequest(connection_id="c", model="Item")
        ).records
        assert sorted(json.loads(r.json)["id"] for r in records) == ["a", "b"]

        # The schedule fires again: one new run, which finds the checkpoint and ends.
        eventually(lambda: len(_sync_runs(client)) == 2)
        newest = _sync_runs(client)[0]
        eventually(
            lambda: (
                client.call("GetRun", pb.GetRunRequest(run_id=newest.run_id)).state
                == pb.RUN_STATE_SUCCEEDED
            )
        )
        (schedule,) = client.call(
            "ListSyncSchedules", pb.ListSyncSchedulesRequest(connection_id="c")
        ).schedules
        assert schedule.last_run_id == newest.run_id
        # Its next slot is one interval after it fired, so no catch-up run can follow.
        assert _when(schedule.next_run_at) >= restarted + timedelta(seconds=FREQUENCY)
        assert len(_sync_runs(client)) == 2
        lines = [json.loads(x) for x in second.stderr_path.read_text().splitlines() if x]
        (ended,) = [x for x in lines if x.get("event") == "interrupted runs ended"]
        assert ended["count"] == 2
        assert ended["error_type"] == "orchestrator_restarted"
