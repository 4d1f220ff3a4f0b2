"""SIGTERM with runs longer than the grace: they are cancelled on their runners and stored as
failed with the error the client saw, nothing stays ``running``, and serve exits within the
grace plus a few seconds (a real serve, a real SIGTERM)."""

from __future__ import annotations

import pathlib
import signal
import time

import grpc
import pytest

from corral._grpc_errors import from_rpc_error
from corral.cli import Client
from corral.errors import RunFailure
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc
from orchestrator.storage._sqlite import SqliteStorage
from tests.support.service import corral, running_service

FOREVER = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    while True:\n"
    "        pass\n"
    "action = create_action(description='never ends', exec=run)\n"
)
GRACE = 1.0


def test_runs_past_the_grace_are_cancelled_and_stored(tmp_path: pathlib.Path) -> None:
    data = tmp_path / "data"
    with (
        running_service(data, CORRAL_SHUTDOWN_GRACE_SECONDS=str(GRACE)) as svc,
        Client(svc.address, svc.secret_key, timeout=60) as client,
    ):
        client.call("Deploy", pb.DeployRequest(integration="loop", files={"f.py": FOREVER}))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="loop", connection_id="c"),
        )
        request = pb.TriggerActionRequest(action_name="f", connection_id="c")
        setattr(request, "async", True)
        background = client.call("TriggerAction", request).run_id
        channel = grpc.insecure_channel(svc.address)
        waiting = orchestrator_pb2_grpc.OrchestratorStub(channel).TriggerAction.future(
            pb.TriggerActionRequest(action_name="f", connection_id="c"),
            metadata=(("authorization", f"Bearer {svc.secret_key}"),),
            timeout=120,
        )
        _wait_running(data, 2)
        started = time.monotonic()
        svc.process.send_signal(signal.SIGTERM)
        assert svc.process.wait(timeout=60) == 0
        took = time.monotonic() - started
        with pytest.raises(grpc.RpcError) as caught:
            waiting.result(timeout=10)
        channel.close()
    assert took < GRACE + 10, took
    told = from_rpc_error(caught.value)
    assert isinstance(told, RunFailure), told
    assert told.code == "execution_cancelled"
    assert told.details["run_id"] != background  # the waiting caller's own run, by its id
    storage = SqliteStorage(data / "corral.db")
    try:
        env = storage.get_environment("dev")
        runs = storage.list_runs(env.id, "c")
    finally:
        storage.close()
    assert {run.run_id for run in runs} == {background, told.details["run_id"]}
    states = {run.run_id: (run.state, (run.error or {}).get("type")) for run in runs}
    assert all(state == ("failed", "execution_cancelled") for state in states.values()), states


def _wait_running(data: pathlib.Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        storage = SqliteStorage(data / "corral.db")
        try:
            env = storage.get_environment("dev")
            running = [r for r in storage.list_runs(env.id, "c") if r.state == "running"]
        finally:
            storage.close()
        if len(running) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} runs started")


def test_runs_still_queued_at_shutdown_are_stored_as_cancelled(tmp_path: pathlib.Path) -> None:
    data = tmp_path / "data"
    with (
        running_service(data, CORRAL_SHUTDOWN_GRACE_SECONDS=str(GRACE)) as svc,
        Client(svc.address, svc.secret_key, timeout=60) as client,
    ):
        settings = corral(
            svc, "env", "settings", "dev", "--data-dir", str(data),
            "--set", '{"concurrency": {"runs": 1}}',
        )  # fmt: skip
        assert settings.returncode == 0, settings.stderr
        client.call("Deploy", pb.DeployRequest(integration="loop", files={"f.py": FOREVER}))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="loop", connection_id="c"),
        )
        request = pb.TriggerActionRequest(action_name="f", connection_id="c")
        setattr(request, "async", True)
        first = client.call("TriggerAction", request).run_id
        queued = client.call("TriggerAction", request).run_id
        _wait_running(data, 1)
        svc.process.send_signal(signal.SIGTERM)
        assert svc.process.wait(timeout=60) == 0
    storage = SqliteStorage(data / "corral.db")
    try:
        env = storage.get_environment("dev")
        runs = {run.run_id: run for run in storage.list_runs(env.id, "c")}
    finally:
        storage.close()
    assert runs[queued].started_at is None  # it never had its turn
    for run_id in (first, queued):
        assert runs[run_id].state == "failed"
        assert (runs[run_id].error or {}).get("type") == "execution_cancelled"
