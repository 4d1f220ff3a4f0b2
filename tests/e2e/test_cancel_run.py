"""CancelRun and ``corral runs cancel``: a running run is killed and ends as
execution_cancelled, a run still waiting for its slot ends so without running, a finished run
stays as it was, another environment's run is not found."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from corral.cli import Client
from corral.errors import NotFound
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi, running_held_api
from tests.support.service import Service, corral, create_environment, running_service

pytestmark = pytest.mark.slow

WAITS = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return nango.get(endpoint='/slow').data\n"
    "action = create_action(description='waits for the test', exec=run)\n"
)
QUICK = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return {'ok': True}\n"
    "action = create_action(description='answers at once', exec=run)\n"
)


@pytest.fixture
def upstream() -> Iterator[tuple[FakeApi, threading.Event]]:
    with running_held_api({"late": True}) as held:
        yield held


@pytest.fixture
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # one run at a time, so a second run waits for its slot
    with running_service(tmp_path_factory.mktemp("cancel")) as svc:
        yield svc


def _state(client: Client, run_id: str) -> pb.Run:
    return client.call("GetRun", pb.GetRunRequest(run_id=run_id))


def _wait_state(client: Client, run_id: str, states: set[int]) -> pb.Run:
    deadline = time.monotonic() + 60
    while (run := _state(client, run_id)).state not in states:
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    return run


def test_cancel_a_running_run_a_waiting_one_and_a_finished_one(
    service: Service, upstream: tuple[FakeApi, threading.Event]
) -> None:
    api, _slow = upstream
    env = {"concurrency": {"runs": 1}}
    key = create_environment(service, "one-at-a-time", env)
    with Client(service.address, key) as client:
        client.call(
            "Deploy",
            pb.DeployRequest(integration="shop", files={"waits.py": WAITS, "quick.py": QUICK}),
        )
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
        )

        def trigger(name: str) -> str:
            request = pb.TriggerActionRequest(action_name=name, connection_id="c")
            setattr(request, "async", True)
            return str(client.call("TriggerAction", request).run_id)

        running = trigger("waits")
        _wait_state(client, running, {pb.RUN_STATE_RUNNING})
        waiting = trigger("quick")
        assert _state(client, waiting).state == pb.RUN_STATE_QUEUED  # the one slot is taken
        # the CLI, by a prefix of the id, as a person types it
        cancelled = corral(service, "runs", "cancel", waiting[:10], "--secret-key", key)
        assert cancelled.returncode == 0, cancelled.stderr
        assert json.loads(cancelled.stdout)["cancelled"] is True
        answer = client.call("CancelRun", pb.CancelRunRequest(run_id=running))
        assert answer.cancelled
        ended = _wait_state(client, running, {pb.RUN_STATE_FAILED, pb.RUN_STATE_SUCCEEDED})
        assert (ended.state, ended.error.type) == (pb.RUN_STATE_FAILED, "execution_cancelled")
        skipped = _wait_state(client, waiting, {pb.RUN_STATE_FAILED, pb.RUN_STATE_SUCCEEDED})
        assert (skipped.state, skipped.error.type) == (pb.RUN_STATE_FAILED, "execution_cancelled")
        assert skipped.output_json == ""  # it never ran
        again = client.call("CancelRun", pb.CancelRunRequest(run_id=running))
        assert not again.cancelled  # finished: stays as it was
        assert again.run.error.type == "execution_cancelled"
    with Client(service.address, service.secret_key) as other, pytest.raises(NotFound):
        other.call("CancelRun", pb.CancelRunRequest(run_id=running))
