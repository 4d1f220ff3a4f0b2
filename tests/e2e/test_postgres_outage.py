"""PostgreSQL stopped under two real `corral serve` processes, then started again.

Each test has a PostgreSQL server of its own (never the session's, which other tests use),
stopped for real (``pg_ctl stop -m fast``) while a run is between two SDK callbacks:

- down for about 3 s: the sync's callbacks (``batch_save``, ``get_metadata``) wait and go
  through once the server is back; the run succeeds with every record stored once, and both
  orchestrators serve new runs without a restart;
- down longer than an action's wall clock (3 s): its callback fails with the typed
  ``storage_unavailable`` (or the run with its wall clock's error), the caller gets that error,
  nothing crashes, and once the server is back the failure is stored and new runs work.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures

import psycopg
import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e.test_recovery import eventually
from tests.support.fake_api import FakeApi, Seen, running_fake_api
from tests.support.postgres import PostgresServer
from tests.support.service import Service, running_service

OUTAGE_SECONDS = 3.0
ACTION_WALL_SECONDS = 3.0
BATCHES, BATCH_SIZE = 30, 20

FILES = {
    # Saves a few batches, waits on the gate (the test stops the database meanwhile), then
    # saves the rest, reading the metadata after each batch.
    "items.py": f"""
from nango import create_sync

def fetch(nango):
    for batch in range({BATCHES}):
        if batch == 5:
            nango.get(endpoint='/gate')
        nango.batch_save([{{'id': str(batch) + '-' + str(i)}} for i in range({BATCH_SIZE})],
                         'Item')
        nango.get_metadata()

sync = create_sync(description='items', frequency='every 30 seconds', auto_start=True,
                   exec=fetch)
""",
    # Waits on the gate, then reads the metadata until its wall clock ends it.
    "forever.py": """
from nango import create_action

def run(nango, input):
    nango.get(endpoint='/gate')
    while True:
        nango.get_metadata()

action = create_action(description='reads the metadata for ever', exec=run)
""",
    "hello.py": """
from nango import create_action

def run(nango, input):
    return {'hello': input, 'metadata': nango.get_metadata()}

action = create_action(description='trivial', exec=run)
""",
}


@pytest.fixture
def database() -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL server of this test's own, and the URL of its database (on a directory
    of /tmp: the server's user must reach it)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="corral-pg-outage-"))
    with PostgresServer.started(root, durable=True) as server:
        yield server, server.create_database("outage")


@pytest.fixture
def gated() -> Iterator[tuple[FakeApi, threading.Event]]:
    """An upstream whose ``/gate`` answers when the event is set."""
    gate = threading.Event()

    def wait(_seen: Seen) -> tuple[int, object, dict[str, str]]:
        gate.wait(60)
        return 200, {}, {}

    with running_fake_api() as api:
        api.routes[("GET", "/gate")] = wait
        try:
            yield api, gate
        finally:
            gate.set()


def _hits(api: FakeApi, path: str) -> int:
    return sum(seen.path == path for seen in api.seen)


def _alive_and_serving(services: list[Service], clients: list[Client], tag: str) -> None:
    for service in services:
        assert service.process.poll() is None, service.stderr_path.read_text()[-3000:]
    for n, client in enumerate(clients):
        request = pb.TriggerActionRequest(
            action_name="hello", connection_id="c", input_json=json.dumps(f"{tag}-{n}")
        )
        response = client.call("TriggerAction", request, timeout=60)
        assert json.loads(response.output_json)["hello"] == f"{tag}-{n}"


def _waited(services: list[Service]) -> bool:
    """Whether a callback of either orchestrator waited for the store and then went through."""
    text = "".join(service.stderr_path.read_text() for service in services)
    return "the store is back: the callback went through" in text


def _set_action_wall_clock(url: str, seconds: float) -> None:
    limits = {"limits": {"action": {"wall_seconds": seconds}}}
    result = subprocess.run(
        [sys.executable, "-m", "corral", "env", "settings", "dev", "--database-url", url,
         "--set", json.dumps(limits)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.fixture
def two(
    tmp_path: pathlib.Path,
    database: tuple[PostgresServer, str],
    gated: tuple[FakeApi, threading.Event],
) -> Iterator[tuple[list[Service], list[Client]]]:
    """Two orchestrators on the test's database, the functions deployed, connection ``c``."""
    _server, url = database
    api, _gate = gated
    # A lease longer than the outage: the runs stay their orchestrator's.
    settings = {"CORRAL_DATABASE_URL": url, "CORRAL_RUN_LEASE_SECONDS": "10"}
    with (
        running_service(tmp_path / "a", banner=True, **settings) as a,
        running_service(tmp_path / "b", banner=False, **settings) as b,
        Client(a.address, a.secret_key) as on_a,
        Client(b.address, a.secret_key) as on_b,
    ):
        on_a.call("Deploy", pb.DeployRequest(integration="shop", files=FILES))
        on_b.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
        )
        yield [a, b], [on_a, on_b]


def _answered(check: Callable[[], bool]) -> Callable[[], bool]:
    """``check``, False while the orchestrator answers ``storage_unavailable`` (the database
    has just come back: the pool may not have a connection yet)."""

    def answered() -> bool:
        try:
            return check()
        except CorralError as exc:
            if exc.code != "storage_unavailable":
                raise
            return False

    return answered


def _sync_run(client: Client) -> pb.Run:
    request = pb.ListRunsRequest(connection_id="c", function_name="items")
    (run,) = client.call("ListRuns", request).runs
    return run


@pytest.mark.timeout(180)
def test_callbacks_wait_out_a_short_outage_and_the_run_succeeds(
    database: tuple[PostgresServer, str],
    gated: tuple[FakeApi, threading.Event],
    two: tuple[list[Service], list[Client]],
) -> None:
    server, url = database
    api, gate = gated
    services, clients = two
    eventually(lambda: _hits(api, "/gate") == 1)  # the sync is between two batches

    server.stop(remove=False, mode="fast")
    gate.set()  # the sync goes on: its next batch_save meets the stopped server
    time.sleep(OUTAGE_SECONDS)  # the outage itself
    for service in services:
        assert service.process.poll() is None
    server.start()

    def ended() -> bool:
        return _sync_run(clients[0]).state in (pb.RUN_STATE_SUCCEEDED, pb.RUN_STATE_FAILED)

    eventually(_answered(ended), timeout=60)
    run_id = _sync_run(clients[0]).run_id
    run = clients[1].call("GetRun", pb.GetRunRequest(run_id=run_id))
    assert run.state == pb.RUN_STATE_SUCCEEDED, run.error
    assert _waited(services)
    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute(
            "SELECT count(*), count(DISTINCT record_id) FROM records WHERE model = 'Item'"
        ).fetchone()
    assert rows == (BATCHES * BATCH_SIZE, BATCHES * BATCH_SIZE)  # all, each once
    _alive_and_serving(services, clients, "after")


@pytest.mark.timeout(180)
def test_an_outage_longer_than_the_run_fails_it_typed_and_all_recover(
    database: tuple[PostgresServer, str],
    gated: tuple[FakeApi, threading.Event],
    two: tuple[list[Service], list[Client]],
) -> None:
    server, url = database
    api, gate = gated
    services, clients = two
    eventually(lambda: _hits(api, "/gate") == 1)  # the sync's gate
    gate.set()
    eventually(lambda: _sync_run(clients[0]).state == pb.RUN_STATE_SUCCEEDED)
    _set_action_wall_clock(url, ACTION_WALL_SECONDS)
    gate.clear()
    pool = futures.ThreadPoolExecutor(1)
    request = pb.TriggerActionRequest(action_name="forever", connection_id="c")
    caller = pool.submit(clients[0].call, "TriggerAction", request, timeout=60)
    eventually(lambda: _hits(api, "/gate") == 2)

    server.stop(remove=False, mode="fast")
    stopped = time.monotonic()
    gate.set()  # the action reads the metadata from the stopped server until its time is up
    with pytest.raises(CorralError) as caught:
        caller.result(30)
    assert caught.value.code in ("storage_unavailable", "execution_timeout"), caught.value
    assert time.monotonic() - stopped < ACTION_WALL_SECONDS + 10
    for service in services:
        assert service.process.poll() is None
    server.start()

    def stored_failure() -> pb.Run:
        runs = (
            clients[1]
            .call("ListRuns", pb.ListRunsRequest(connection_id="c", function_name="forever"))
            .runs
        )
        return runs[0]

    eventually(_answered(lambda: stored_failure().state == pb.RUN_STATE_FAILED), timeout=30)
    assert stored_failure().error.type == caught.value.code
    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute("SELECT count(*) FROM records WHERE model = 'Item'").fetchone()
    assert rows == (BATCHES * BATCH_SIZE,)  # what was committed before is intact
    _alive_and_serving(services, clients, "after")
    pool.shutdown(wait=False)
