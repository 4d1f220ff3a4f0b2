"""An idempotency key on TriggerAction: a retry gets the first run's result, never a second run
(through the real service, runner and worker)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from corral.cli import Client
from corral.errors import InvalidRequest
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.fake_api import FakeApi

COUNT = """
from nango import create_action

def run(nango, input):
    for _ in range(input.get('spin', 0)):
        pass
    n = (nango.get_metadata().get('n') or 0) + 1
    nango.update_metadata({'n': n})
    return {'n': n}

action = create_action(description='counts its runs', exec=run)
"""


def _trigger(client: Client, key: str, spin: int = 0, run_async: bool = False) -> Any:
    request = pb.TriggerActionRequest(
        action_name="count",
        connection_id="c1",
        input_json=json.dumps({"spin": spin}),
        idempotency_key=key,
    )
    setattr(request, "async", run_async)
    return client.call("TriggerAction", request)


@pytest.fixture(scope="module", autouse=True)
def deployed(service: Any, fake_api: FakeApi) -> None:
    with Client(service.address, service.secret_key, timeout=60) as client:
        h.setup(client, "counter", {"count.py": COUNT}, fake_api.url)


def test_a_retry_with_the_same_key_gets_the_first_result_and_runs_nothing(
    client: Client,
) -> None:
    first = _trigger(client, "order-1")
    again = _trigger(client, "order-1")
    assert (again.run_id, again.output_json) == (first.run_id, first.output_json)
    count = json.loads(first.output_json)["n"]
    assert h.metadata(client)["n"] == count  # the action ran once
    other = _trigger(client, "order-2")
    assert json.loads(other.output_json)["n"] == count + 1
    assert other.run_id != first.run_id


def test_a_retry_while_the_first_runs_waits_for_it(client: Client) -> None:
    started = _trigger(client, "order-3", spin=200_000, run_async=True)
    waited = _trigger(client, "order-3", spin=200_000)
    assert waited.run_id == started.run_id
    assert json.loads(waited.output_json)["n"] == h.metadata(client)["n"]


def test_a_key_reused_for_another_input_is_refused(client: Client) -> None:
    _trigger(client, "order-4")
    with pytest.raises(InvalidRequest) as caught:
        _trigger(client, "order-4", spin=1)
    assert caught.value.code == "idempotency_key_reused"


def test_a_key_that_is_not_printable_ascii_is_refused(client: Client) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _trigger(client, "x" * 201)
    assert caught.value.code == "invalid_idempotency_key"
