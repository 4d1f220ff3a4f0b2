"""Two real `corral serve` processes on one PostgreSQL database (CORRAL_DATABASE_URL), each
with its own data dir and runners, and a short run lease (CORRAL_RUN_LEASE_SECONDS).

- A TriggerAction with an idempotency key that reaches B while A runs it waits on the row and
  gets A's result.
- kill -9 of A (and everything it started) during a long sync and a long action: B ends both
  within the lease as ``orchestrator_lost`` (a caller waiting on B with the action's key gets
  that error), the records and the checkpoint are intact, and the schedule goes on on B.
"""

from __future__ import annotations

import json
import pathlib
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import psycopg
import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e.test_recovery import FILES, _kill_everything, _sync_runs, eventually
from tests.support.fake_api import FakeApi, running_held_api
from tests.support.postgres import PostgresServer
from tests.support.service import Service, running_service

LEASE_SECONDS = 3.0

SLOW = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/slow').data

action = create_action(description='waits on a slow upstream', exec=run)
"""


@pytest.fixture
def upstream() -> Iterator[tuple[FakeApi, threading.Event]]:
    """``/hang`` answers when the test ends; ``/slow`` when the event is set."""
    with running_held_api({"answer": 42}) as held:
        yield held


def _trigger(client: Client, action: str, key: str) -> pb.TriggerActionResponse:
    request = pb.TriggerActionRequest(action_name=action, connection_id="c", idempotency_key=key)
    return client.call("TriggerAction", request, timeout=60)


def _hits(api: FakeApi, path: str) -> int:
    return sum(seen.path == path for seen in api.seen)


def _instance(service: Service) -> str:
    """The instance id a serve logged at start (the owner of its runs)."""
    for line in service.stderr_path.read_text().splitlines():
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("event") == "orchestrator started":
            return str(entry["instance"])
    raise AssertionError("no start line")


def test_two_orchestrators_share_runs_and_survive_a_kill(
    tmp_path: pathlib.Path,
    postgres_server: PostgresServer,
    upstream: tuple[FakeApi, threading.Event],
) -> None:
    api, slow = upstream
    url = postgres_server.create_database(postgres_server.unique_name("two"))
    settings = {"CORRAL_DATABASE_URL": url, "CORRAL_RUN_LEASE_SECONDS": str(LEASE_SECONDS)}
    pool = futures.ThreadPoolExecutor(4)
    with (
        running_service(tmp_path / "a", banner=True, **settings) as a,
        running_service(tmp_path / "b", banner=False, **settings) as b,
        Client(a.address, a.secret_key) as on_a,
        Client(b.address, a.secret_key) as on_b,
    ):
        on_a.call("Deploy", pb.DeployRequest(integration="shop", files=FILES | {"slow.py": SLOW}))
        on_b.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
        )
        # The sync starts on whichever claims its schedule first: X; the other is Y.
        eventually(lambda: _hits(api, "/hang") == 1)
        (sync_run,) = _sync_runs(on_b)
        with psycopg.connect(url, autocommit=True) as db:
            row = db.execute(
                "SELECT owner FROM runs WHERE run_id = %s", (sync_run.run_id,)
            ).fetchone()
        assert row is not None
        x, on_x, on_y = (a, on_a, on_b) if _instance(a) == row[0] else (b, on_b, on_a)

        # One key, called on X, then on Y while X runs it: Y waits on the row, same result.
        first = pool.submit(_trigger, on_x, "slow", "k-slow")
        eventually(lambda: _hits(api, "/slow") == 1)
        second = pool.submit(_trigger, on_y, "slow", "k-slow")
        time.sleep(0.3)  # Y is polling the row (a wait that does not end before the release)
        assert not second.done()
        slow.set()
        assert json.loads(first.result(30).output_json) == {"answer": 42}
        assert second.result(30).run_id == first.result().run_id
        assert second.result().output_json == first.result().output_json
        assert _hits(api, "/slow") == 1  # run once

        # A long action on X, with a caller waiting for its key on Y; then kill -9 of X.
        held = pool.submit(_trigger, on_x, "wait", "k-wait")
        eventually(lambda: _hits(api, "/hang") == 2)
        waiting = pool.submit(_trigger, on_y, "wait", "k-wait")
        killed_at = time.monotonic()
        _kill_everything(x)

        # Y ends X's runs once their lease expires (a scheduler tick later at most).
        def lost(run_id: str) -> bool:
            run = on_y.call("GetRun", pb.GetRunRequest(run_id=run_id))
            return run.state == pb.RUN_STATE_FAILED and run.error.type == "orchestrator_lost"

        eventually(lambda: lost(sync_run.run_id), timeout=LEASE_SECONDS + 10)
        assert time.monotonic() - killed_at < LEASE_SECONDS + 8  # kill, lease, tick
        with pytest.raises(CorralError) as caught:
            waiting.result(30)
        assert caught.value.code == "orchestrator_lost"
        with pytest.raises(CorralError):  # X's own caller lost its server
            held.result(30)

        # Records intact; the schedule goes on on Y, and its run finds the checkpoint.
        records = on_y.call(
            "ListRecords", pb.ListRecordsRequest(connection_id="c", model="Item")
        ).records
        assert sorted(json.loads(r.json)["id"] for r in records) == ["a", "b"]
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE sync_schedules SET next_run_at = now() - interval '1 second'")
        eventually(lambda: len(_sync_runs(on_y)) == 2)
        newest = _sync_runs(on_y)[0]
        eventually(
            lambda: (
                on_y.call("GetRun", pb.GetRunRequest(run_id=newest.run_id)).state
                == pb.RUN_STATE_SUCCEEDED
            )
        )
        assert _hits(api, "/hang") == 2  # the checkpoint was there: no new wait upstream
    pool.shutdown(wait=False, cancel_futures=True)
