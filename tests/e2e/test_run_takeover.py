"""Queued background runs of an orchestrator that dies or stops are taken over, not lost.

Two real `corral serve` processes on one PostgreSQL database. A has one run slot: a long async
action holds it, so a second async action waits queued on A. Then:

- kill -9 of A: once A's lease expires, B ends the long run as ``orchestrator_lost`` (it had
  started) and takes over the queued one (it never started), which succeeds on B;
- SIGTERM of A: A hands the queued run off at shutdown, and B runs it at its next tick, long
  before A's lease would have expired.
"""

from __future__ import annotations

import json
import pathlib
import signal
import time
from collections.abc import Iterator

import pytest

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e.test_recovery import FILES, _kill_everything, eventually
from tests.support.fake_api import FakeApi, running_hanging_api
from tests.support.postgres import PostgresServer
from tests.support.service import running_service

HELLO = """
from nango import create_action

def run(nango, input):
    return {'hello': input}

action = create_action(description='answers at once', exec=run)
"""

ACTIONS = {"wait.py": FILES["wait.py"], "hello.py": HELLO}


def _start_async(client: Client, action: str, value: object = None) -> str:
    request = pb.TriggerActionRequest(
        action_name=action, connection_id="c", input_json=json.dumps(value)
    )
    setattr(request, "async", True)
    return str(client.call("TriggerAction", request).run_id)


def _run(client: Client, run_id: str) -> pb.Run:
    run: pb.Run = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
    return run


@pytest.fixture
def hanging_api() -> Iterator[FakeApi]:
    """An upstream whose ``/hang`` answers only when the test ends."""
    with running_hanging_api() as api:
        yield api


@pytest.mark.parametrize("stop", ["kill", "sigterm"])
def test_queued_runs_of_a_stopped_orchestrator_run_elsewhere(
    tmp_path: pathlib.Path, postgres_server: PostgresServer, hanging_api: FakeApi, stop: str
) -> None:
    url = postgres_server.create_database(postgres_server.unique_name(f"takeover_{stop}"))
    lease = 3.0 if stop == "kill" else 60.0  # a hand-off does not wait for the lease
    shared = {"CORRAL_DATABASE_URL": url, "CORRAL_RUN_LEASE_SECONDS": str(lease)}
    with (
        running_service(
            tmp_path / "a",
            banner=True,
            CORRAL_MAX_CONCURRENT_RUNS="1",
            CORRAL_SHUTDOWN_GRACE_SECONDS="0.5",
            **shared,
        ) as a,
        running_service(tmp_path / "b", banner=False, **shared) as b,
        Client(a.address, a.secret_key) as on_a,
        Client(b.address, a.secret_key) as on_b,
    ):
        on_a.call("Deploy", pb.DeployRequest(integration="shop", files=ACTIONS))
        on_a.call(
            "CreateConnection",
            pb.CreateConnectionRequest(
                integration="shop", connection_id="c", base_url=hanging_api.url
            ),
        )
        held = _start_async(on_a, "wait")
        eventually(lambda: _run(on_a, held).state == pb.RUN_STATE_RUNNING)
        queued = _start_async(on_a, "hello", {"n": 7})
        time.sleep(0.3)
        assert _run(on_a, queued).state == pb.RUN_STATE_QUEUED  # A's one slot is taken

        stopped_at = time.monotonic()
        if stop == "kill":
            _kill_everything(a)
        else:
            a.process.send_signal(signal.SIGTERM)
            assert a.process.wait(30) == 0

        eventually(lambda: _run(on_b, queued).state == pb.RUN_STATE_SUCCEEDED, timeout=lease + 10)
        assert json.loads(_run(on_b, queued).output_json) == {"hello": {"n": 7}}
        if stop == "sigterm":
            assert time.monotonic() - stopped_at < lease / 2  # handed off, not expired
            assert _run(on_b, held).error.type == "execution_cancelled"
        else:
            eventually(lambda: _run(on_b, held).error.type == "orchestrator_lost", timeout=10)
