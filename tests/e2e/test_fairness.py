"""No tenant starves another (a real serve, a real slow API): an environment past its run limit
queues while another's runs are served; past its API call limit its calls are refused, typed,
while another's are answered; past its SDK call limit its calls wait their turn."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from corral._grpc_errors import from_rpc_error
from corral.cli import Client
from corral.errors import ResourceExhausted
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc
from tests.e2e.sdk_helpers import action, setup
from tests.support.fake_api import FakeApi, Seen
from tests.support.service import Service, corral, create_environment

SLOW = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/slow').data

action = create_action(description='waits for a slow API', exec=run)
"""
ECHO = """
from nango import create_action

def run(nango, input):
    return {'echo': input}

action = create_action(description='echo', exec=run)
"""


@dataclass
class SlowRoute:
    """``GET /slow``: held until released (or for ``pause`` seconds); counts requests in flight."""

    pause: float = 20.0
    release: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0
    most: int = 0
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            self.release.wait(self.pause)
            return 200, {"ok": True}, {}
        finally:
            with self.lock:
                self.in_flight -= 1
                self.served += 1


@pytest.fixture
def slow(fake_api: FakeApi) -> Iterator[SlowRoute]:
    route = SlowRoute()
    fake_api.routes[("GET", "/slow")] = route
    yield route
    route.release.set()


@contextmanager
def _tenant(
    service: Service, api: FakeApi, name: str, settings: dict[str, Any]
) -> Iterator[tuple[Client, str]]:
    """A new environment with ``settings`` and the test integration; its client and key."""
    key = create_environment(service, name, settings)
    with Client(service.address, key, timeout=60) as client:
        setup(client, "t", {"slow.py": SLOW, "echo.py": ECHO}, api.url)
        yield client, key


_QUIET = itertools.count()


@pytest.fixture
def quiet(service: Service, fake_api: FakeApi) -> Iterator[Client]:
    with _tenant(service, fake_api, f"quiet{next(_QUIET)}", {}) as (client, _key):
        yield client


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _start_async(client: Client, name: str) -> str:
    request = pb.TriggerActionRequest(action_name=name, connection_id="c1", input_json="null")
    setattr(request, "async", True)
    return str(client.call("TriggerAction", request).run_id)


def _state(client: Client, run_id: str) -> str:
    state = client.call("GetRun", pb.GetRunRequest(run_id=run_id)).state
    return pb.RunState.Name(state).removeprefix("RUN_STATE_").lower()


def test_runs_past_an_environments_limit_queue_while_another_is_served(
    service: Service, fake_api: FakeApi, slow: SlowRoute, quiet: Client
) -> None:
    with _tenant(service, fake_api, "noisyruns", {"concurrency": {"runs": 2}}) as (noisy, _):
        run_ids = [_start_async(noisy, "slow") for _ in range(5)]
        _until(lambda: slow.in_flight == 2)
        time.sleep(0.3)  # time for a third run to start, were the limit not kept
        assert slow.in_flight == 2
        states = [_state(noisy, run_id) for run_id in run_ids]
        assert sorted(states) == ["queued", "queued", "queued", "running", "running"]
        started = time.monotonic()
        assert action(quiet, "echo", 1) == {"echo": 1}  # not behind the noisy backlog
        assert time.monotonic() - started < 15
        slow.release.set()
        _until(lambda: all(_state(noisy, run_id) == "succeeded" for run_id in run_ids))
        assert slow.most == 2


def test_calls_past_an_environments_api_call_limit_are_refused_typed(
    service: Service, fake_api: FakeApi, slow: SlowRoute, quiet: Client
) -> None:
    with _tenant(service, fake_api, "noisycalls", {"concurrency": {"api_calls": 2}}) as (
        noisy,
        key,
    ):
        channel = grpc.insecure_channel(service.address)
        stub = orchestrator_pb2_grpc.OrchestratorStub(channel)
        metadata = (("authorization", f"Bearer {key}"),)
        waiting = [
            stub.TriggerAction.future(
                pb.TriggerActionRequest(action_name="slow", connection_id="c1"),
                metadata=metadata,
                timeout=60,
            )
            for _ in range(2)
        ]
        _until(lambda: slow.in_flight == 2)
        with pytest.raises(ResourceExhausted) as caught:
            noisy.call("ListRuns", pb.ListRunsRequest(connection_id="c1"))
        assert caught.value.code == "too_many_calls"
        assert caught.value.retryable
        assert caught.value.details["resource"] == "concurrency.api_calls"
        assert action(quiet, "echo", 2) == {"echo": 2}  # another environment is answered
        slow.release.set()
        for call in waiting:
            assert json.loads(call.result(timeout=30).output_json) == {"ok": True}
        channel.close()
        noisy.call("ListRuns", pb.ListRunsRequest(connection_id="c1"))  # its place is back


def test_sdk_calls_past_an_environments_limit_wait_their_turn(
    service: Service, fake_api: FakeApi, slow: SlowRoute
) -> None:
    slow.pause = 0.3
    settings = {"concurrency": {"runs": 4, "sdk_calls": 1}}
    with _tenant(service, fake_api, "noisysdk", settings) as (noisy, _):
        with ThreadPoolExecutor(4) as pool:
            outputs = list(pool.map(lambda _: action(noisy, "slow"), range(4)))
        assert outputs == [{"ok": True}] * 4  # refused calls were retried, none failed
        assert slow.most == 1


def test_an_api_call_past_the_limit_is_a_typed_grpc_status(
    service: Service, fake_api: FakeApi, slow: SlowRoute
) -> None:
    limits = {"concurrency": {"api_calls": 1}}
    with _tenant(service, fake_api, "noisystatus", limits) as (_, key):
        channel = grpc.insecure_channel(service.address)
        stub = orchestrator_pb2_grpc.OrchestratorStub(channel)
        metadata = (("authorization", f"Bearer {key}"),)
        held = stub.TriggerAction.future(
            pb.TriggerActionRequest(action_name="slow", connection_id="c1"),
            metadata=metadata,
            timeout=60,
        )
        _until(lambda: slow.in_flight == 1)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListRuns(pb.ListRunsRequest(connection_id="c1"), metadata=metadata, timeout=10)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert from_rpc_error(caught.value).code == "too_many_calls"
        slow.release.set()
        held.result(timeout=30)
        channel.close()


def test_env_settings_show_the_concurrency_in_force(service: Service) -> None:
    create_environment(service, "shown", {"concurrency": {"runs": 3}})
    shown = corral(service, "env", "settings", "shown", "--data-dir", str(service.data_dir))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["concurrency"] == {"runs": 3, "sdk_calls": 32, "api_calls": 32}
    bad = corral(
        service,
        *("env", "settings", "shown", "--data-dir", str(service.data_dir)),
        *("--set", '{"concurrency": {"runs": 0}}'),
    )
    assert bad.returncode == 1
    assert json.loads(bad.stderr)["error_type"] == "invalid_settings"
