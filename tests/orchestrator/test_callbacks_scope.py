"""The capability layer: a run token reaches its own run's connection and nothing else."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from corral.errors import PermissionDenied, Unauthenticated
from corral.v1 import callbacks_pb2 as pb
from orchestrator._clock import FakeClock
from orchestrator.callbacks._service import CallbacksService
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._egress import EgressPolicy
from orchestrator.proxy._proxy import Proxy
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.callback_context import Context, authenticated


@pytest.fixture
def world(tmp_path: pathlib.Path) -> Iterator[tuple[CallbacksService, RunTokens, dict[str, int]]]:
    storage = SqliteStorage(tmp_path / "corral.db")
    envs: dict[str, int] = {}
    for name in ("a", "b"):
        env, _ = storage.create_environment(name)
        envs[name] = env.id
        storage.upsert_integration(
            env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
        )
        for cid in ("c1", "c2"):
            storage.create_connection(
                env.id,
                "shop",
                cid,
                credentials={"type": "NONE"},
                connection_config={},
                metadata={"who": f"{name}/{cid}"},
            )
    client = httpx.Client()
    tokens = RunTokens()
    proxy = Proxy(client, FakeClock(), EgressPolicy())
    service = CallbacksService(
        storage, proxy, ConnectionService(storage, client, FakeClock()), lambda *args: None
    )
    yield authenticated(service, tokens), tokens, envs
    client.close()
    storage.close()


def _scope(env_id: int, connection: str, kind: str = "sync") -> RunScope:
    return RunScope(
        env_id=env_id,
        run_id=f"run-{env_id}-{connection}",
        connection_id=connection,
        integration_key="shop",
        function_name="f",
        kind=kind,
        variant="base",
    )


def _metadata(service: CallbacksService, token: str) -> Any:
    return json.loads(service.GetMetadata(pb.Empty(), Context(token)).json)  # type: ignore[arg-type]


def test_each_token_reaches_only_its_own_connection(
    world: tuple[CallbacksService, RunTokens, dict[str, int]],
) -> None:
    service, tokens, envs = world
    for env in ("a", "b"):
        for cid in ("c1", "c2"):
            token = tokens.mint(_scope(envs[env], cid), 60)
            assert _metadata(service, token) == {"who": f"{env}/{cid}"}


def test_a_token_of_an_ended_run_is_refused(
    world: tuple[CallbacksService, RunTokens, dict[str, int]],
) -> None:
    service, tokens, envs = world
    token = tokens.mint(_scope(envs["a"], "c1"), 60)
    tokens.revoke(token)
    with pytest.raises(Unauthenticated):
        _metadata(service, token)


def test_records_written_under_one_token_are_invisible_to_another(
    world: tuple[CallbacksService, RunTokens, dict[str, int]],
) -> None:
    service, tokens, envs = world
    writer = tokens.mint(_scope(envs["a"], "c1"), 60)
    record = pb.Record(id="1", json=b'{"id":"1","secret":"a"}', content_hash="h")
    service.BatchSave(pb.RecordBatch(model="Item", records=[record]), Context(writer))  # type: ignore[arg-type]
    request = pb.GetRecordsByIdRequest(model="Item", ids=["1"])
    for env, cid in (("a", "c2"), ("b", "c1")):
        reader = tokens.mint(_scope(envs[env], cid), 60)
        found = service.GetRecordsById(request, Context(reader))  # type: ignore[arg-type]
        assert json.loads(found.json) == {}
    own = json.loads(service.GetRecordsById(request, Context(writer)).json)  # type: ignore[arg-type]
    assert list(own) == ["1"]
    assert own["1"].pop("_nango_metadata")["last_action"] == "ADDED"
    assert own == {"1": {"id": "1", "secret": "a"}}


def test_an_action_token_cannot_store_records_or_checkpoints(
    world: tuple[CallbacksService, RunTokens, dict[str, int]],
) -> None:
    service, tokens, envs = world
    token = tokens.mint(_scope(envs["a"], "c1", kind="action"), 60)
    with pytest.raises(PermissionDenied):
        service.BatchSave(pb.RecordBatch(model="Item"), Context(token))  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        service.SaveCheckpoint(pb.JsonValue(json=b"{}"), Context(token))  # type: ignore[arg-type]


def test_a_nested_action_gets_the_parents_call_as_its_caller(tmp_path: Any) -> None:
    storage = SqliteStorage(tmp_path / "corral.db")
    env, _ = storage.create_environment("n")
    seen: list[Any] = []

    def trigger(scope: RunScope, name: str, value: Any, caller: Any = None) -> Any:
        seen.append((scope.run_id, name, value, caller))
        return {"done": True}

    tokens = RunTokens()
    client = httpx.Client()
    service = authenticated(
        CallbacksService(
            storage,
            Proxy(client, FakeClock(), EgressPolicy()),
            ConnectionService(storage, client, FakeClock()),
            trigger,
        ),
        tokens,
    )
    context = Context(tokens.mint(_scope(env.id, "c1", kind="action"), 60))
    request = pb.TriggerActionCallRequest(action_name="other", input_json=b'{"a": 1}')
    try:
        answer = service.TriggerAction(request, context)  # type: ignore[arg-type]
    finally:
        client.close()
        storage.close()
    assert json.loads(answer.json) == {"done": True}
    assert seen == [(f"run-{env.id}-c1", "other", {"a": 1}, context)]


def _connection(service: CallbacksService, token: str, **overrides: str) -> Any:
    request = pb.GetConnectionCallRequest(**overrides)
    return json.loads(service.GetConnection(request, Context(token)).json)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides",
    [
        {"connection_id_override": "c2"},
        {"provider_config_key_override": "other"},
        {"provider_config_key_override": "shop", "connection_id_override": "c2"},
        {"provider_config_key_override": "other", "connection_id_override": "c1"},
        {"connection_id_override": "c1\x00"},
        {"connection_id_override": "C1"},
    ],
)
def test_a_get_connection_naming_another_connection_is_refused_whatever_the_worker_sends(
    world: tuple[CallbacksService, RunTokens, dict[str, int]], overrides: dict[str, str]
) -> None:
    service, tokens, envs = world
    token = tokens.mint(_scope(envs["a"], "c1"), 60)
    with pytest.raises(PermissionDenied) as refused:
        _connection(service, token, **overrides)
    assert refused.value.code == "connection_override_refused"
    assert "c2" not in json.dumps(_connection(service, token))


@pytest.mark.parametrize(
    "overrides",
    [{}, {"connection_id_override": "c1"}, {"provider_config_key_override": "shop"}],
)
def test_a_get_connection_naming_its_own_connection_is_served(
    world: tuple[CallbacksService, RunTokens, dict[str, int]], overrides: dict[str, str]
) -> None:
    service, tokens, envs = world
    token = tokens.mint(_scope(envs["a"], "c1"), 60)
    view = _connection(service, token, **overrides)
    assert (view["connection_id"], view["provider_config_key"]) == ("c1", "shop")
