"""The dry runs mean what production means: every records, checkpoint and metadata scenario
runs through production, the online dry run and the offline dry run, call by call, and each
answer (value or typed error) is the same; the dry runs leave the real store as it was.

Production is the runner's forwarding over gRPC to the callback server (run-token interceptor,
callback service, SQLite store) for a sync; the online dry run is the same server for a dry
run's scope (its session's scratch store); the offline dry run is ``OfflineCallbacks``.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
import weakref
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from corral._budgets import Budgets
from corral._server import build_server
from corral.errors import CorralError
from corral.testing import OfflineCallbacks
from corral.v1 import callbacks_pb2_grpc
from orchestrator._clock import FakeClock
from orchestrator.callbacks._run_auth import RunTokenAuth
from orchestrator.callbacks._service import CallbacksService
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._egress import EgressPolicy
from orchestrator.proxy._proxy import Proxy
from orchestrator.runs._dry_sessions import DRY_KIND, DrySession, DrySessions
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import CheckpointKey, NewRun
from orchestrator.storage._sqlite import SqliteStorage
from runner.host._forward import GrpcCallbackHandler
from tests.runner.by_method import SdkCalls

BUDGETS = Budgets(metadata_bytes=200, record_bytes=300, records_per_run=12)
METADATA = {"plan": "pro", "cursor": {"page": 1}}

Call = tuple[str, dict[str, Any]]


def _save(model: str, *records: dict[str, Any]) -> Call:
    return ("batch_save", {"model": model, "records": list(records)})


def _update(model: str, *records: dict[str, Any]) -> Call:
    return ("batch_update", {"model": model, "records": list(records)})


def _delete(model: str, *ids: str) -> Call:
    return ("batch_delete", {"model": model, "records": [{"id": i} for i in ids]})


def _by_id(model: str, *ids: str) -> Call:
    return ("get_records_by_id", {"model": model, "ids": list(ids)})


SCENARIOS: dict[str, list[Call]] = {
    "records": [
        _save("Item", {"id": "1", "n": 1}, {"id": "2", "n": 2}),
        _save("Item", {"id": "1", "n": 1}, {"id": "2", "n": 20}),
        _by_id("Item", "1", "2", "3"),
        _update("Item", {"id": "2", "extra": {"a": 1}}, {"id": "9", "x": 1}),
        _by_id("Item", "2", "9"),
        _delete("Item", "1", "404"),
        _by_id("Item", "1", "2"),
        _save("Other", {"id": "1", "model": "other"}),
        _by_id("Other", "1"),
        _by_id("Item", "1"),
        _save("Item", {"id": "1", "back": True}),
        _by_id("Item", "1"),
    ],
    "deletion tracking": [
        _save("Item", {"id": "a"}, {"id": "b"}, {"id": "c"}),
        ("track_deletes_start", {"model": "Item"}),
        _save("Item", {"id": "a"}, {"id": "c", "v": 2}),
        ("track_deletes_end", {"model": "Item"}),
        _by_id("Item", "a", "b", "c"),
    ],
    "deletion tracking never started": [
        _save("Item", {"id": "a"}),
        ("track_deletes_end", {"model": "Item"}),
        ("track_deletes_start", {"model": "Item"}),
        ("track_deletes_end", {"model": "Item"}),
        ("track_deletes_end", {"model": "Item"}),
        _by_id("Item", "a"),
    ],
    "record errors": [
        _save("Item", {"id": "1", "n": 1}),
        _save("Item", {"id": "big", "pad": "x" * 400}),
        _save("", {"id": "1"}),
        _save("Item", {"id": "", "n": 1}),
        _update("Item", {"id": "1", "pad": "y" * 400}),
        _by_id("Item", "big", "1"),
    ],
    "records per run": [
        _save("Item", *({"id": str(i)} for i in range(10))),
        _save("Item", {"id": "10"}, {"id": "11"}, {"id": "12"}),
        _save("Item", {"id": "13"}),
        _by_id("Item", "0", "9", "10", "12", "13"),
    ],
    "checkpoint": [
        ("get_checkpoint", {}),
        ("save_checkpoint", {"checkpoint": {"cursor": "a"}}),
        ("get_checkpoint", {}),
        ("save_checkpoint", {"checkpoint": {"cursor": "b", "n": 2}}),
        ("save_checkpoint", {"checkpoint": {"cursor": "c"}}),
        ("get_checkpoint", {}),
        ("clear_checkpoint", {}),
        ("get_checkpoint", {}),
        ("save_checkpoint", {"checkpoint": ["not", "an", "object"]}),
        ("save_checkpoint", {"checkpoint": {"pad": "x" * 70_000}}),
        ("get_checkpoint", {}),
    ],
    "metadata": [
        ("get_metadata", {}),
        ("update_metadata", {"metadata": {"cursor": {"page": 2}, "more": True}}),
        ("get_metadata", {}),
        ("set_metadata", {"metadata": {"only": 1}}),
        ("get_metadata", {}),
        ("set_metadata", {"metadata": {"pad": "x" * 300}}),
        ("update_metadata", {"metadata": {"pad": "x" * 300}}),
        ("get_metadata", {}),
        ("set_metadata", {"metadata": []}),
        ("get_metadata", {}),
    ],
}


class Production:
    """A sync's SDK calls as production serves them: forwarded over gRPC to the callbacks.

    With ``dry``, a dry run's calls on the same server: the scope of an online dry run, whose
    session keeps its data in a scratch store.
    """

    def __init__(self, tmp_path: pathlib.Path, *, dry: bool = False) -> None:
        self.storage = SqliteStorage(tmp_path / "corral.db")
        env, _ = self.storage.create_environment("acme")
        self.storage.set_environment_settings(env.id, {"budgets": dataclasses.asdict(BUDGETS)})
        self.storage.upsert_integration(
            env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
        )
        self.storage.create_connection(
            env.id, "shop", "c1", credentials={"type": "NONE"}, connection_config={},
            metadata=METADATA,
        )  # fmt: skip
        run = self.storage.create_run(
            env.id,
            NewRun(function_name="items", integration_key="shop", kind="sync",
                   connection_id="c1", variant="base", input_json="null"),
        )  # fmt: skip
        self.storage.mark_run_started(run.run_id)
        scope = RunScope(env.id, run.run_id, "c1", "shop", "items", "sync", "base")
        self.sessions = DrySessions()
        if dry:
            scope = RunScope(env.id, "dry-1", "c1", "shop", "items", DRY_KIND, "base")
            self.session = DrySession(METADATA, None, record=False)
            self.sessions.open("dry-1", self.session)
        tokens = RunTokens()
        self.http = httpx.Client()
        service = CallbacksService(
            self.storage,
            Proxy(self.http, FakeClock(), EgressPolicy()),
            ConnectionService(self.storage, self.http, FakeClock()),
            lambda *args: None,
            dry=self.sessions,
        )
        self.server, _ = build_server(
            [(callbacks_pb2_grpc.add_RunnerCallbacksServicer_to_server, service, "x")],
            interceptors=[RunTokenAuth(tokens, lambda env_id: "acme")],
        )
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = callbacks_pb2_grpc.RunnerCallbacksStub(self.channel)
        self.handler = GrpcCallbackHandler(stub, tokens.mint(scope, 600))

    def close(self) -> None:
        self.channel.close()
        self.server.stop(grace=None)
        self.sessions.close("dry-1")
        self.http.close()
        self.storage.close()


@pytest.fixture
def production(tmp_path: pathlib.Path) -> Iterator[Production]:
    world = Production(tmp_path)
    yield world
    world.close()


@pytest.fixture
def online_dry(tmp_path: pathlib.Path) -> Iterator[Production]:
    (tmp_path / "dry").mkdir()
    world = Production(tmp_path / "dry", dry=True)
    yield world
    world.close()


@pytest.fixture
def offline() -> Iterator[OfflineCallbacks]:
    handler = OfflineCallbacks(metadata=METADATA, budgets=BUDGETS)
    yield handler
    handler.close()


_RUNS: weakref.WeakKeyDictionary[Any, SdkCalls] = weakref.WeakKeyDictionary()
"""Each handler's run: its SDK calls down the worker's path (one run's wrappers)."""


_TIMES = ("first_seen_at", "last_modified_at", "deleted_at")
"""The times of a record's ``_nango_metadata``: when a store wrote it, not what it means."""


def _answer(handler: Any, call: Call) -> tuple[str, Any]:
    method, args = call
    calls = _RUNS.setdefault(handler, SdkCalls(handler))
    try:
        return ("ok", _timeless(calls.call(method, args, time.monotonic() + 30)))
    except CorralError as err:
        return ("error", type(err).__name__, err.code)  # type: ignore[return-value]


def _timeless(value: Any) -> Any:
    """``value`` with each record's metadata times shown as set or not (each store has its
    own clock); every other part, ``last_action`` and ``cursor`` included, compared as is."""
    if not isinstance(value, dict):
        return value
    out = {key: _timeless(item) for key, item in value.items()}
    meta = out.get("_nango_metadata")
    if isinstance(meta, dict):
        out["_nango_metadata"] = meta | {k: meta[k] is not None for k in _TIMES if k in meta}
    return out


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_answers_the_same_in_production_and_the_dry_runs(
    name: str, production: Production, online_dry: Production, offline: OfflineCallbacks
) -> None:
    calls = SCENARIOS[name]
    in_production = [_answer(production.handler, call) for call in calls]
    in_offline = [_answer(offline, call) for call in calls]
    in_online = [_answer(online_dry.handler, call) for call in calls]
    for call, ours, offline_answer, online_answer in zip(
        calls, in_production, in_offline, in_online, strict=True
    ):
        assert offline_answer == ours, f"{name}: {call[0]} answered differently offline"
        assert online_answer == ours, f"{name}: {call[0]} answered differently in a dry run"
    assert any(answer[0] == "ok" for answer in in_production)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_an_online_dry_run_leaves_the_real_store_as_it_was(
    name: str, online_dry: Production
) -> None:
    for call in SCENARIOS[name]:
        _answer(online_dry.handler, call)
    storage = online_dry.storage
    env_id = storage.get_environment("acme").id
    for model in ("Item", "Other"):
        assert storage.list_records(env_id, "c1", model)[0] == []
    assert storage.get_connection(env_id, "c1").metadata == METADATA
    assert storage.get_checkpoint(CheckpointKey(env_id, "c1", "items", "base")) is None


def test_a_dry_run_that_has_ended_is_refused_and_never_reaches_the_real_store(
    online_dry: Production,
) -> None:
    online_dry.sessions.close("dry-1")
    answer = _answer(online_dry.handler, _save("Item", {"id": "1"}))
    assert answer == ("error", "PermissionDenied", "run_ended")
    env_id = online_dry.storage.get_environment("acme").id
    assert online_dry.storage.list_records(env_id, "c1", "Item")[0] == []


def test_the_record_errors_are_refusals(production: Production) -> None:
    answers = [_answer(production.handler, call) for call in SCENARIOS["record errors"]]
    assert [answer[0] for answer in answers] == ["ok", "error", "error", "error", "error", "ok"]


def test_past_the_records_per_run_the_run_has_ended(production: Production) -> None:
    answers = [_answer(production.handler, call) for call in SCENARIOS["records per run"]]
    assert answers[0][0] == "ok"
    assert answers[1] == ("error", "ResourceExhausted", "resource_exhausted")
    assert answers[2] == ("error", "PermissionDenied", "run_ended")


def test_a_run_past_a_per_run_budget_has_failed_offline_as_in_production(
    production: Production, offline: OfflineCallbacks
) -> None:
    for call in SCENARIOS["records per run"]:
        _answer(production.handler, call)
        _answer(offline, call)
    [run] = production.storage.list_runs(1)
    assert run.state == "failed"
    assert offline.failure == run.error


def test_track_deletes_end_without_its_start_is_a_typed_error(production: Production) -> None:
    calls = SCENARIOS["deletion tracking never started"]
    answers = [_answer(production.handler, call) for call in calls]
    refused = ("error", "InvalidRequest", "track_deletes_not_started")
    assert (answers[1], answers[4]) == (refused, refused)
    assert answers[5][1]["a"]["_nango_metadata"]["last_action"] == "DELETED"
