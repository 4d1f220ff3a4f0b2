"""A runner, its warm parent or a run's worker killed with kill -9 while a run is inside it.

The run ends within seconds as failed with a typed error that names what happened
(``runner_error`` for the runner and for the warm parent; ``resource_exhausted``, "killed", for
a worker, which cannot tell an operator's kill -9 from the kernel's), the waiting caller gets
that error, and the next run works (the supervisor starts a dead runner again; a runner whose
warm parent died stops to be started again). Workers die with their warm parent even after
they changed their user.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.runs._runner_client import KEEPALIVE_SECONDS
from tests.support.fake_api import FakeApi, running_hanging_api
from tests.support.processes import Pid, alive, children, identify, wait_for
from tests.support.service import Service, running_service

FILES = {
    "wait.py": """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/hang').data

action = create_action(description='waits on the upstream', exec=run)
""",
    "echo.py": """
from nango import create_action

def run(nango, input):
    return input

action = create_action(description='echo', exec=run)
""",
}

ENDS_WITHIN = 5.0
"""Seconds from the kill to the run's end: far below the action's 60 s wall-clock limit."""


WORKER_KILLED = ("resource_exhausted", "the worker was killed")
"""A worker killed by SIGKILL from outside: as when the kernel kills it for its limits."""


@pytest.fixture
def hanging_api() -> Iterator[FakeApi]:
    """An upstream whose ``/hang`` answers only when the test ends."""
    with running_hanging_api() as api:
        yield api


@pytest.fixture
def service(tmp_path: pathlib.Path) -> Iterator[Service]:
    # No prewarmed worker: while the run waits, its worker is the warm parent's only child.
    with running_service(tmp_path / "data", CORRAL_PREWARM_WORKERS="0") as svc:
        yield svc


@dataclass
class Waiting:
    """A synchronous TriggerAction in flight on a thread, and what it got."""

    thread: threading.Thread
    error: CorralError | None = None
    ended_at: float = 0.0


def _runner(service: Service) -> int:
    lines = service.stderr_path.read_text().splitlines()
    (pid,) = [int(json.loads(x)["pid"]) for x in lines if '"runner started"' in x][:1]
    return pid


def _setup(service: Service, api: FakeApi) -> Client:
    client = Client(service.address, service.secret_key, timeout=60)
    client.call("Deploy", pb.DeployRequest(integration="shop", files=FILES))
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
    )
    return client


def _wait_in_a_thread(client: Client, api: FakeApi) -> Waiting:
    """Starts the ``wait`` action and returns once its worker waits on the upstream."""
    request = pb.TriggerActionRequest(action_name="wait", connection_id="c")
    waiting = Waiting(threading.Thread(target=lambda: None))

    def call() -> None:
        try:
            client.call("TriggerAction", request, timeout=60)
        except CorralError as exc:
            waiting.error = exc
        waiting.ended_at = time.monotonic()

    waiting.thread = threading.Thread(target=call, daemon=True)
    waiting.thread.start()
    assert wait_for(lambda: any(seen.path == "/hang" for seen in api.seen), 30)
    return waiting


def _the_run(client: Client) -> pb.Run:
    (run,) = client.call(
        "ListRuns", pb.ListRunsRequest(connection_id="c", function_name="wait")
    ).runs
    found: pb.Run = client.call("GetRun", pb.GetRunRequest(run_id=run.run_id))
    return found


def _assert_ended_typed(  # noqa: PLR0917 - one call per fault, each spelled out
    client: Client,
    waiting: Waiting,
    killed_at: float,
    code: str,
    what: str,
    within: float = ENDS_WITHIN,
) -> None:
    waiting.thread.join(timeout=within + 5)
    assert not waiting.thread.is_alive(), "the caller still waits"
    assert waiting.error is not None
    assert waiting.ended_at - killed_at < within
    assert waiting.error.code == code, waiting.error.to_dict()
    assert what in waiting.error.message, waiting.error.message
    run = _the_run(client)
    assert waiting.error.details.get("run_id") == run.run_id
    assert run.state == pb.RUN_STATE_FAILED
    assert run.error.type == code
    assert what in run.error.message


def _a_new_run_works(client: Client) -> None:
    request = pb.TriggerActionRequest(action_name="echo", connection_id="c", input_json="7")
    deadline = time.monotonic() + 30
    while True:
        try:
            output = client.call("TriggerAction", request, timeout=10).output_json
            break
        except CorralError:
            assert time.monotonic() < deadline, "no run works after the kill"
            time.sleep(0.2)
    assert json.loads(output) == 7


def _family(runner: int) -> tuple[Pid, list[Pid]]:
    """The runner's warm parent and its workers (the run's worker among them)."""
    (warm,) = children(runner)
    workers = children(warm[0])
    assert workers
    return warm, workers


def test_kill_9_of_the_runner_ends_its_run_within_seconds(
    service: Service, hanging_api: FakeApi
) -> None:
    with _setup(service, hanging_api) as client:
        waiting = _wait_in_a_thread(client, hanging_api)
        runner = _runner(service)
        warm, workers = _family(runner)
        os.kill(runner, signal.SIGKILL)
        killed_at = time.monotonic()
        _assert_ended_typed(client, waiting, killed_at, "runner_error", "runner")
        # Its warm parent and the run's worker (which changed its user) went with it.
        assert wait_for(lambda: not [p for p in [warm, *workers] if alive(p)], 10)
        _a_new_run_works(client)
    assert '"runner died; starting it again"' in service.stderr_path.read_text()


def test_kill_9_of_the_runs_worker_ends_its_run_within_seconds(
    service: Service, hanging_api: FakeApi
) -> None:
    with _setup(service, hanging_api) as client:
        waiting = _wait_in_a_thread(client, hanging_api)
        _, (worker, *_) = _family(_runner(service))
        os.kill(worker[0], signal.SIGKILL)
        killed_at = time.monotonic()
        _assert_ended_typed(client, waiting, killed_at, *WORKER_KILLED)
        _a_new_run_works(client)


def test_kill_9_of_the_warm_parent_takes_its_workers_with_it(
    service: Service, hanging_api: FakeApi
) -> None:
    with _setup(service, hanging_api) as client:
        waiting = _wait_in_a_thread(client, hanging_api)
        runner = _runner(service)
        warm, workers = _family(runner)
        runner_process = identify(runner)
        os.kill(warm[0], signal.SIGKILL)
        killed_at = time.monotonic()
        # The workers had changed their user, which clears a parent-death signal: they asked
        # for it again after the change.
        assert wait_for(lambda: not [p for p in workers if alive(p)], 5), workers
        _assert_ended_typed(client, waiting, killed_at, "runner_error", "warm parent is gone")
        # A runner that can fork no worker stops, and is started again.
        assert wait_for(lambda: not alive(runner_process), 15)
        _a_new_run_works(client)


def test_a_frozen_runner_fails_its_run_after_the_keepalive(
    service: Service, hanging_api: FakeApi
) -> None:
    """A runner that stops answering without closing its connection (SIGSTOP, as a machine
    that hangs): the orchestrator's keepalive ping goes unanswered and the run ends."""
    with _setup(service, hanging_api) as client:
        waiting = _wait_in_a_thread(client, hanging_api)
        runner = _runner(service)
        os.kill(runner, signal.SIGSTOP)
        try:
            stopped_at = time.monotonic()
            bound = 2 * KEEPALIVE_SECONDS + ENDS_WITHIN
            _assert_ended_typed(client, waiting, stopped_at, "runner_error", "runner", bound)
        finally:
            os.kill(runner, signal.SIGCONT)
        _a_new_run_works(client)
