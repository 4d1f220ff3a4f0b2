"""A breached runner's reply is checked as it arrives: what it makes up is never stored or
handed on, and the run fails with a typed ``runner_error``, never an INTERNAL.

The runner here is a stand-in that answers every run with the reply a breached runner could
send over gRPC (any ``RunResponse``); the API is served over real gRPC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import grpc
import httpx
import pytest

from corral._grpc_errors import from_rpc_error
from corral._server import build_server
from corral.errors import RunFailure
from corral.v1 import callbacks_pb2, common_pb2, orchestrator_pb2_grpc, runner_pb2
from corral.v1 import orchestrator_pb2 as pb
from orchestrator._clock import FakeClock
from orchestrator.api._auth import SecretKeyAuth
from orchestrator.api._service import OrchestratorService
from orchestrator.callbacks._service import CallbacksService
from orchestrator.lifecycle._deploy import Deployer
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._egress import EgressPolicy
from orchestrator.proxy._proxy import Proxy
from orchestrator.runs._dispatch import RunOrder
from orchestrator.runs._dry_runs import DryRuns
from orchestrator.runs._dry_sessions import DrySessions
from orchestrator.runs._limits import limits_for
from orchestrator.runs._manager import RunManager
from orchestrator.runs._run_request import output_or_raise
from orchestrator.runs._runner_reply import SLACK_BYTES
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import FunctionRow, NewRun
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.callback_context import Context, authenticated

BAD_OUTPUTS = {
    "not_json": "{",
    "two_values": "1 2",
    "huge_integer": "9" * 5000,
    "deep": "[" * 100_000 + "]" * 100_000,
    "lone_surrogate": '"\\ud800"',
    "nan": "NaN",
    "nan_inside": '{"a": [1, NaN]}',
    "infinity": "-Infinity",
    "out_of_range": "1e999",
}
"""``output_json`` texts a breached runner may send, none of them strict JSON."""


def _error(**fields: Any) -> runner_pb2.RunResponse:
    error = common_pb2.RunError(type="action_script_failure", message="m", payload_json="null")
    for name, value in fields.items():
        setattr(error, name, value)
    return runner_pb2.RunResponse(ok=False, error=error)


BAD_ERRORS = {
    **{f"payload_{n}": _error(payload_json=text) for n, text in BAD_OUTPUTS.items()},
    "payload_text": _error(payload_json="the payload"),
    "type_with_spaces": _error(type="not a type"),
    "type_in_capitals": _error(type="INTERNAL"),
    "type_too_long": _error(type="x" * 101),
    "negative_line": _error(file="a.py", line=-1),
}
"""Failed replies with an error field a breached runner made up."""


class ParentCall(Context):
    """A parent's callback call, which a nested run takes as its caller."""

    def add_callback(self, callback: Any) -> bool:
        return True


class BreachedRunner:
    """Answers every run with ``reply`` (a describe with an empty description)."""

    def __init__(self) -> None:
        self.reply = runner_pb2.RunResponse(ok=True, output_json="null")

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        if request.context.mode == runner_pb2.RUN_MODE_DESCRIBE:
            return runner_pb2.RunResponse(ok=True, output_json="{}")
        return self.reply

    def cancel(self, run_id: str) -> bool:
        return False


@dataclass
class World:
    storage: SqliteStorage
    env_id: int
    runner: BreachedRunner
    runs: RunManager
    stub: orchestrator_pb2_grpc.OrchestratorStub
    metadata: tuple[tuple[str, str], ...]
    callbacks: CallbacksService
    tokens: RunTokens

    def trigger(self) -> RunFailure:
        """TriggerAction of ``echo`` over gRPC; the failure a client reads."""
        request = pb.TriggerActionRequest(connection_id="c1", action_name="echo", input_json="{}")
        with pytest.raises(grpc.RpcError) as caught:
            self.stub.TriggerAction(request, metadata=self.metadata, timeout=30)
        assert caught.value.code() != grpc.StatusCode.INTERNAL, caught.value.details()
        failure = from_rpc_error(caught.value)
        assert isinstance(failure, RunFailure)
        return failure

    def parent(self) -> ParentCall:
        """A running parent action and its callback context."""
        row = NewRun("parent", "shop", "action", "c1", "base", "null")
        run = self.storage.create_run(self.env_id, row)
        self.storage.mark_run_started(run.run_id)
        scope = RunScope(self.env_id, run.run_id, "c1", "shop", "parent", "action", "base")
        return ParentCall(self.tokens.mint(scope, 60))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    storage = SqliteStorage(tmp_path_factory.mktemp("reply") / "corral.db")
    env, secret_key = storage.create_environment("e")
    storage.upsert_integration(
        env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        env.id, "shop", "c1", credentials={"type": "NONE"}, connection_config={}, metadata={}
    )
    rows = [
        FunctionRow(name, "action", "1", "", {}, {f"{name}.py": ""}, f"{name}.py", "h")
        for name in ("echo", "parent")
    ]
    storage.replace_functions(env.id, "shop", rows)
    runner, tokens, client = BreachedRunner(), RunTokens(), httpx.Client()
    runs = RunManager(storage, tokens, runner)
    dry_runs = DryRuns(storage, DrySessions(), runs.dispatcher)
    api = OrchestratorService(
        storage, runs, Deployer(storage, runs.dispatcher), dry_runs, Lifecycle(storage, runs)
    )
    server, _ = build_server(
        [(orchestrator_pb2_grpc.add_OrchestratorServicer_to_server, api, "corral.v1.Orchestrator")],
        interceptors=[SecretKeyAuth(storage)],
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    callbacks = CallbacksService(
        storage,
        Proxy(client, FakeClock(), EgressPolicy()),
        ConnectionService(storage, client, FakeClock()),
        runs.run_nested,
    )
    try:
        yield World(
            storage,
            env.id,
            runner,
            runs,
            orchestrator_pb2_grpc.OrchestratorStub(channel),
            (("authorization", f"Bearer {secret_key}"),),
            authenticated(callbacks, tokens),
            tokens,
        )
    finally:
        channel.close()
        server.stop(None).wait()
        runs.shutdown(0)
        dry_runs.shutdown()
        client.close()
        storage.close()


def _refused_run(world: World, failure: RunFailure) -> None:
    """The run the failure names is stored failed with a typed ``runner_error``."""
    assert failure.code == "runner_error"
    assert "reply was refused" in failure.message
    run = world.storage.get_run(world.env_id, failure.details["run_id"])
    assert run.state == "failed"
    assert run.output_json is None
    assert run.error is not None
    assert run.error["type"] == "runner_error"


@pytest.mark.parametrize("output", BAD_OUTPUTS.values(), ids=BAD_OUTPUTS.keys())
def test_an_output_that_is_not_strict_json_fails_the_action_typed(
    world: World, output: str
) -> None:
    world.runner.reply = runner_pb2.RunResponse(ok=True, output_json=output)
    _refused_run(world, world.trigger())


@pytest.mark.parametrize("output", BAD_OUTPUTS.values(), ids=BAD_OUTPUTS.keys())
def test_a_parents_trigger_action_gets_a_typed_runner_error(world: World, output: str) -> None:
    world.runner.reply = runner_pb2.RunResponse(ok=True, output_json=output)
    request = callbacks_pb2.TriggerActionCallRequest(action_name="echo", input_json=b"{}")
    with pytest.raises(RunFailure) as caught:
        world.callbacks.TriggerAction(request, world.parent())  # type: ignore[arg-type]
    _refused_run(world, caught.value)


@pytest.mark.parametrize("reply", BAD_ERRORS.values(), ids=BAD_ERRORS.keys())
def test_an_error_with_a_made_up_field_fails_the_run_typed(
    world: World, reply: runner_pb2.RunResponse
) -> None:
    world.runner.reply = reply
    _refused_run(world, world.trigger())


def test_a_reply_larger_than_the_run_could_make_is_refused(world: World) -> None:
    limit = limits_for("action", {}).max_output_bytes
    text = json.dumps("x" * (2 * limit + SLACK_BYTES))
    world.runner.reply = runner_pb2.RunResponse(ok=True, output_json=text)
    _refused_run(world, world.trigger())


@pytest.mark.parametrize(
    "output", ["null", '{"a": [1, 2.5, "\\u00e9", true]}', "9" * 4000, "[" * 100 + "]" * 100]
)
def test_a_strict_output_still_passes(world: World, output: str) -> None:
    world.runner.reply = runner_pb2.RunResponse(ok=True, output_json=output)
    request = pb.TriggerActionRequest(connection_id="c1", action_name="echo", input_json="{}")
    answer = world.stub.TriggerAction(request, metadata=world.metadata, timeout=30)
    assert json.loads(answer.output_json) == json.loads(output)


def test_a_well_formed_error_still_passes(world: World) -> None:
    payload = json.dumps({"code": "nope", "values": [1, 2]})
    world.runner.reply = _error(payload_json=payload, file="echo.py", line=3)
    failure = world.trigger()
    assert failure.code == "action_script_failure"
    assert failure.value.payload == {"code": "nope", "values": [1, 2]}
    assert failure.value.line == 3


def test_a_dry_run_and_a_describe_get_the_refusal_too(world: World) -> None:
    world.runner.reply = runner_pb2.RunResponse(ok=True, output_json="NaN")
    env = world.storage.get_environment("e")
    order = RunOrder(
        kind="dry",
        env=env,
        run_id="dry-1",
        entry="echo.py",
        files={"echo.py": ""},
        limits=limits_for("action", {}),
    )
    response = world.runs.dispatcher.dispatch(order)
    assert not response.ok
    assert response.error.type == "runner_error"


def test_a_stored_output_that_does_not_read_is_a_typed_error(world: World) -> None:
    row = NewRun("echo", "shop", "action", "c1", "base", "null")
    run = world.storage.create_run(world.env_id, row)
    stored = world.storage.finish_run(run.run_id, True, "NaN", None)  # before the check
    with pytest.raises(RunFailure) as caught:
        output_or_raise(stored)
    assert caught.value.code == "runner_error"
    assert caught.value.details["run_id"] == run.run_id
    assert output_or_raise(replace(stored, output_json='{"a": 1}')) == {"a": 1}
