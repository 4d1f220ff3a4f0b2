"""A run asking more than the runner's ceiling is refused as ``invalid_limits``, never capped.

The refusal comes before a worker is taken: no worker ever sees such a run.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from corral.limits import CEILING, DEFAULTS, FIELDS
from corral.v1 import common_pb2, runner_pb2, runner_pb2_grpc
from runner._service import RunnerService
from runner.host._containment import IDLE_LIMITS, _lowered
from runner.host._host import Job, RunnerHost
from runner.host._warm import warm
from sandbox.os import ContainmentError, WorkerLimits
from tests.runner.by_method import ByMethod

SOURCE = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return input\n"
    "action = create_action(description='t', exec=run)\n"
)


class _NoWorker:
    """Stands in for the pool's ``take``: records that a worker was asked for."""

    def __init__(self) -> None:
        self.taken = 0

    def __call__(self) -> Any:
        self.taken += 1
        raise AssertionError("a worker was taken for a refused run")


@pytest.fixture(scope="module")
def host() -> Iterator[RunnerHost]:
    runner_host = RunnerHost(None, warm, prewarm=0)
    yield runner_host
    runner_host.close()


@pytest.fixture
def no_worker(host: RunnerHost, monkeypatch: pytest.MonkeyPatch) -> _NoWorker:
    spy = _NoWorker()
    monkeypatch.setattr(host._pool, "take", spy)
    return spy


def _job(**limits: Any) -> Job:
    return Job(
        run_id="over",
        kind="action",
        function_name="f",
        entry="f.py",
        files={"f.py": SOURCE},
        **limits,
    )


@pytest.mark.parametrize("name", FIELDS)
def test_a_job_above_the_ceiling_is_refused_before_any_worker(
    host: RunnerHost, no_worker: _NoWorker, name: str
) -> None:
    highest = getattr(CEILING, name)
    outcome = host.execute(_job(**{name: highest * 2}), _Unused())
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error["type"] == "invalid_limits"
    assert outcome.error["payload"] == {"field": name, "value": highest * 2, "ceiling": highest}
    assert name in outcome.error["message"]
    assert no_worker.taken == 0


@pytest.mark.parametrize("value", [-1, 0, math.nan, math.inf])
def test_a_wall_clock_that_is_no_positive_number_is_refused(
    host: RunnerHost, no_worker: _NoWorker, value: float
) -> None:
    outcome = host.execute(_job(wall_seconds=value), _Unused())
    assert outcome.error is not None
    assert outcome.error["type"] == "invalid_limits"
    assert no_worker.taken == 0


def test_a_runner_with_a_lower_ceiling_enforces_that_one(no_worker: _NoWorker) -> None:
    lower = dataclasses.replace(CEILING, memory_bytes=DEFAULTS["action"].memory_bytes - 1)
    small = RunnerHost(None, warm, prewarm=0, ceiling=lower)
    try:
        small._pool.take = no_worker  # type: ignore[method-assign]
        outcome = small.execute(_job(), _Unused())
    finally:
        small.close()
    assert outcome.error is not None
    assert outcome.error["type"] == "invalid_limits"
    assert outcome.error["payload"]["ceiling"] == lower.memory_bytes
    assert no_worker.taken == 0


def test_the_run_rpc_answers_invalid_limits_and_starts_no_worker(
    host: RunnerHost, no_worker: _NoWorker
) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    callbacks = grpc.insecure_channel("127.0.0.1:9")
    runner_pb2_grpc.add_RunnerServicer_to_server(RunnerService(host, callbacks), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    request = runner_pb2.RunRequest(
        run_id="too-big",
        kind=common_pb2.FUNCTION_KIND_ACTION,
        function_name="f",
        source=common_pb2.FunctionSource(entry="f.py", files={"f.py": SOURCE}),
        input_json="{}",
        limits=common_pb2.RunLimits(memory_bytes=64 << 30),
    )
    try:
        response = runner_pb2_grpc.RunnerStub(channel).Run(request, timeout=10)
    finally:
        channel.close()
        callbacks.close()
        server.stop(None)
    assert not response.ok
    assert response.error.type == "invalid_limits"
    assert "memory_bytes is 68719476736, above the ceiling of 8589934592" in response.error.message
    payload = json.loads(response.error.payload_json)
    assert payload == {"field": "memory_bytes", "value": 64 << 30, "ceiling": CEILING.memory_bytes}
    assert no_worker.taken == 0


def test_the_worker_refuses_limits_above_its_idle_ceiling_rather_than_capping() -> None:
    wanted = WorkerLimits(memory_bytes=IDLE_LIMITS.memory_bytes + 1)
    with pytest.raises(ContainmentError, match="memory_bytes"):
        _lowered(IDLE_LIMITS, wanted)
    within = WorkerLimits(memory_bytes=IDLE_LIMITS.memory_bytes)
    assert _lowered(IDLE_LIMITS, within) == within


class _Unused(ByMethod):
    """A callback handler that a refused run never calls."""

    def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        raise AssertionError(f"{method} was called for a refused run")
