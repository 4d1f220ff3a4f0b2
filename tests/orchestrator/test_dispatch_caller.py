"""A client's deadline and cancellation reach the runner: the worker is killed, and the run
ends with a typed error, never stays ``running``.

Real gRPC all the way: a client calls the Orchestrator API server, which dispatches to a
runner server whose host runs a real worker.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from corral._server import build_server
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc, runner_pb2_grpc
from orchestrator.api._auth import SecretKeyAuth
from orchestrator.api._service import OrchestratorService
from orchestrator.lifecycle._deploy import Deployer
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.runs._dry_runs import DryRuns
from orchestrator.runs._dry_sessions import DrySessions
from orchestrator.runs._manager import RunManager
from orchestrator.runs._runner_client import RunnerChannels
from orchestrator.runs._tokens import RunTokens
from orchestrator.storage._areas import Run
from orchestrator.storage._sqlite import SqliteStorage
from runner import CallbackHandler
from runner._service import RunnerService
from runner.host._host import Job, Outcome, RunnerHost
from runner.host._warm import warm

LOOP = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    while True:\n"
    "        pass\n"
    "action = create_action(description='t', exec=run)\n"
)
WAIT = 20.0
"""Seconds a test waits for what must follow: far less than the action's 15 min wall clock."""


class RecordingHost(RunnerHost):
    """A runner host that keeps every run's outcome (with its worker's pid); not those of its
    own compile runs, which may end beside or after a run (``runner.host._compiled``)."""

    outcomes: list[Outcome]

    def execute(self, job: Job, handler: CallbackHandler) -> Outcome:
        outcome = super().execute(job, handler)
        if job.mode != "compile":
            self.outcomes.append(outcome)
        return outcome


@dataclass
class World:
    storage: SqliteStorage
    env_id: int
    host: RecordingHost
    stub: orchestrator_pb2_grpc.OrchestratorStub
    metadata: tuple[tuple[str, str], ...]


def _wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return value


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, killed and not yet reaped, does not)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from runner.host._containment import make_containment  # noqa: PLC0415

    storage = SqliteStorage(tmp_path_factory.mktemp("caller") / "corral.db")
    env, secret_key = storage.create_environment("e")
    storage.upsert_integration(
        env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        env.id, "shop", "c1", credentials={"type": "NONE"}, connection_config={}, metadata={}
    )
    contain, layers = make_containment(strict=False)
    host = RecordingHost(contain, warm, prewarm=1, layers=layers)
    host.outcomes = []
    runner_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    callbacks = grpc.insecure_channel("127.0.0.1:9")  # a looping action makes no calls
    runner_pb2_grpc.add_RunnerServicer_to_server(RunnerService(host, callbacks), runner_server)
    runner_port = runner_server.add_insecure_port("127.0.0.1:0")
    runner_server.start()
    channels = RunnerChannels([f"127.0.0.1:{runner_port}"])
    runs = RunManager(storage, RunTokens(), channels)
    dry_runs = DryRuns(storage, DrySessions(), runs.dispatcher)
    api = OrchestratorService(
        storage, runs, Deployer(storage, runs.dispatcher), dry_runs, Lifecycle(storage, runs)
    )
    api_server, _ = build_server(
        [(orchestrator_pb2_grpc.add_OrchestratorServicer_to_server, api, "corral.v1.Orchestrator")],
        interceptors=[SecretKeyAuth(storage)],
    )
    api_port = api_server.add_insecure_port("127.0.0.1:0")
    api_server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{api_port}")
    world = World(
        storage,
        env.id,
        host,
        orchestrator_pb2_grpc.OrchestratorStub(channel),
        (("authorization", f"Bearer {secret_key}"),),
    )
    deploy = pb.DeployRequest(integration="shop", files={"loop.py": LOOP})
    world.stub.Deploy(deploy, metadata=world.metadata, timeout=60)  # a describe, dispatched
    try:
        yield world
    finally:
        channel.close()
        api_server.stop(None).wait()
        runs.shutdown(0)
        dry_runs.shutdown()
        channels.close()
        runner_server.stop(None).wait()
        callbacks.close()
        host.close()
        storage.close()


def _new_run(world: World, before: set[str]) -> Run:
    runs = world.storage.list_runs(world.env_id, "c1")
    (run,) = [r for r in runs if r.run_id not in before]
    return run


def _ended(world: World, run_id: str) -> Run | None:
    run = world.storage.get_run(world.env_id, run_id)
    return run if run.state not in ("queued", "running") else None


def _run_ids(world: World) -> set[str]:
    return {r.run_id for r in world.storage.list_runs(world.env_id, "c1")}


def _worker_gone(world: World, outcomes_before: int) -> None:
    """The run's worker has ended, and the runner has no run in progress."""
    outcome = _wait_for(
        lambda: world.host.outcomes[outcomes_before:], "the runner still runs the worker"
    )[0]
    _wait_for(lambda: not _alive(outcome.worker_pid), "the worker outlived its run")
    assert world.host.status()["runs_in_progress"] == 0


ACTION = pb.TriggerActionRequest(connection_id="c1", action_name="loop", input_json="{}")


def test_a_clients_deadline_ends_the_run_and_kills_its_worker(world: World) -> None:
    before, outcomes = _run_ids(world), len(world.host.outcomes)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        world.stub.TriggerAction(ACTION, metadata=world.metadata, timeout=2.0)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    run_id = _new_run(world, before).run_id
    run = _wait_for(lambda: _ended(world, run_id), "the run stayed running")
    assert run.state == "failed"
    assert run.error is not None
    assert run.error["type"] == "execution_timeout"
    assert "deadline" in run.error["message"]
    _worker_gone(world, outcomes)
    assert time.monotonic() - started < WAIT


def test_a_client_that_cancels_cancels_the_run(world: World) -> None:
    before, outcomes = _run_ids(world), len(world.host.outcomes)
    call = world.stub.TriggerAction.future(ACTION, metadata=world.metadata, timeout=120)
    _wait_for(lambda: world.host.status()["runs_in_progress"], "the run did not start")
    run_id = _new_run(world, before).run_id
    assert world.storage.get_run(world.env_id, run_id).state == "running"
    call.cancel()
    run = _wait_for(lambda: _ended(world, run_id), "the run stayed running")
    assert run.state == "failed"
    assert run.error is not None
    assert run.error["type"] == "execution_cancelled"
    _worker_gone(world, outcomes)


def test_a_dry_runs_deadline_kills_its_worker(world: World) -> None:
    outcomes = len(world.host.outcomes)
    request = pb.DryRunRequest(
        connection_id="c1", entry="loop.py", files={"loop.py": LOOP}, input_json="{}"
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(world.stub.DryRun(request, metadata=world.metadata, timeout=2.0))
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    _worker_gone(world, outcomes)
    assert world.host.outcomes[-1].error is not None
