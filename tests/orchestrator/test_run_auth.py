"""Callbacks are authenticated once, in an interceptor, which binds the run's scope and its log
context for the handler: a call without a live run token never reaches a handler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import structlog

from corral._server import build_server
from corral.errors import Unauthenticated
from corral.v1 import callbacks_pb2 as pb
from corral.v1 import callbacks_pb2_grpc
from orchestrator.callbacks._run_auth import RunTokenAuth, current_scope
from orchestrator.runs._tokens import RunScope, RunTokens
from tests.orchestrator.callback_context import Context

_log = structlog.get_logger("corral.test")


class Spy(callbacks_pb2_grpc.RunnerCallbacksServicer):
    """Records the scope each handler met, and logs one line per call."""

    def __init__(self) -> None:
        self.scopes: list[RunScope] = []

    def GetMetadata(  # noqa: N802 - the RPC's name
        self, request: pb.Empty, context: grpc.ServicerContext
    ) -> pb.JsonValue:
        self.scopes.append(current_scope())
        _log.info("serving a callback", rpc="GetMetadata")
        return pb.JsonValue(json=b"{}")


def _scope(run_id: str = "run-1", env_id: int = 7, connection: str = "c1") -> RunScope:
    return RunScope(
        env_id=env_id,
        run_id=run_id,
        connection_id=connection,
        integration_key="shop",
        function_name="f",
        kind="action",
        variant="base",
    )


@pytest.fixture
def served() -> Iterator[tuple[Spy, RunTokens, Any]]:
    spy, tokens = Spy(), RunTokens()
    auth = RunTokenAuth(tokens, {7: "acme/prod", 8: "acme/dev"}.__getitem__)
    server, _ = build_server(
        [
            (
                callbacks_pb2_grpc.add_RunnerCallbacksServicer_to_server,
                spy,
                "corral.v1.RunnerCallbacks",
            )
        ],
        interceptors=[auth],
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = callbacks_pb2_grpc.RunnerCallbacksStub(channel)
    yield spy, tokens, stub
    channel.close()
    server.stop(grace=None)


@pytest.mark.parametrize("token", [None, "", "rt_not-a-token"])
def test_a_call_without_a_live_token_is_refused_before_the_handler(
    served: tuple[Spy, RunTokens, Any], token: str | None
) -> None:
    spy, _, stub = served
    metadata = () if token is None else (("x-corral-run-token", token),)
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetMetadata(pb.Empty(), metadata=metadata, timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert spy.scopes == []


def test_revoked_and_expired_tokens_are_refused_before_the_handler(
    served: tuple[Spy, RunTokens, Any],
) -> None:
    spy, tokens, stub = served
    revoked = tokens.mint(_scope(), 60)
    tokens.revoke(revoked)
    expired = tokens.mint(_scope(), -1)
    for token in (revoked, expired):
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetMetadata(pb.Empty(), metadata=(("x-corral-run-token", token),), timeout=10)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert spy.scopes == []


def test_the_handler_meets_the_scope_of_its_own_token(
    served: tuple[Spy, RunTokens, Any],
) -> None:
    spy, tokens, stub = served
    first, second = _scope("run-1", 7, "c1"), _scope("run-2", 8, "c2")
    for scope in (first, second):
        token = tokens.mint(scope, 60)
        stub.GetMetadata(pb.Empty(), metadata=(("x-corral-run-token", token),), timeout=10)
    assert spy.scopes == [first, second]


def test_a_log_line_during_a_callback_carries_the_run_environment_and_connection(
    served: tuple[Spy, RunTokens, Any],
) -> None:
    _, tokens, stub = served
    token = tokens.mint(_scope("run-42", 8, "conn-9"), 60)
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        stub.GetMetadata(pb.Empty(), metadata=(("x-corral-run-token", token),), timeout=10)
    [line] = [entry for entry in logs if entry["event"] == "serving a callback"]
    assert line["run_id"] == "run-42"
    assert line["environment"] == "acme/dev"
    assert line["connection"] == "conn-9"


def test_the_scope_and_log_context_are_unbound_after_the_call() -> None:
    tokens = RunTokens()
    auth = RunTokenAuth(tokens, lambda env_id: "acme/prod")
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request="outer")
    token = tokens.mint(_scope("run-5"), 60)

    def handler(request: Any, context: Any) -> dict[str, Any]:
        return {"scope": current_scope(), **structlog.contextvars.get_contextvars()}

    wrapped = auth.wrap("/corral.v1.RunnerCallbacks/GetMetadata", handler)
    seen = wrapped(pb.Empty(), Context(token))
    assert seen["scope"].run_id == "run-5"
    assert seen["run_id"] == "run-5"
    assert seen["environment"] == "acme/prod"
    assert structlog.contextvars.get_contextvars() == {"request": "outer"}
    with pytest.raises(Unauthenticated):
        current_scope()
    structlog.contextvars.clear_contextvars()


def test_a_refused_call_leaves_nothing_bound() -> None:
    auth = RunTokenAuth(RunTokens(), lambda env_id: "acme/prod")
    structlog.contextvars.clear_contextvars()
    wrapped = auth.wrap("/corral.v1.RunnerCallbacks/GetMetadata", lambda request, context: None)
    with pytest.raises(Unauthenticated) as raised:
        wrapped(pb.Empty(), Context("rt_wrong"))
    assert raised.value.code == "invalid_run_token"
    assert structlog.contextvars.get_contextvars() == {}


def test_other_services_are_not_wrapped() -> None:
    auth = RunTokenAuth(RunTokens(), lambda env_id: "acme/prod")

    def handler(request: Any, context: Any) -> str:
        return "served"

    assert auth.wrap("/corral.v1.Orchestrator/ListRuns", handler) is handler


def test_environment_names_are_looked_up_once_per_environment() -> None:
    asked: list[int] = []

    def name(env_id: int) -> str:
        asked.append(env_id)
        return f"env-{env_id}"

    tokens = RunTokens()
    auth = RunTokenAuth(tokens, name)
    wrapped = auth.wrap(
        "/corral.v1.RunnerCallbacks/GetMetadata",
        lambda request, context: structlog.contextvars.get_contextvars()["environment"],
    )
    seen = [
        wrapped(pb.Empty(), Context(tokens.mint(_scope(f"run-{i}", env_id), 60)))
        for i, env_id in enumerate((7, 7, 8, 7))
    ]
    assert seen == ["env-7", "env-7", "env-8", "env-7"]
    assert asked == [7, 8]
