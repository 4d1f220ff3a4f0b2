"""A callback service over a SQLite store with one environment, integration and connection,
and runs to call it as (the budgets' and hashes-first tests)."""

from __future__ import annotations

import contextlib
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import httpx

from corral.v1 import callbacks_pb2 as pb
from orchestrator._clock import FakeClock
from orchestrator._env_settings import validated
from orchestrator.callbacks._service import CallbacksService
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._egress import EgressPolicy
from orchestrator.proxy._proxy import Proxy
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import NewRun
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.callback_context import Context, authenticated


class World:
    def __init__(self, storage: SqliteStorage, service: CallbacksService, tokens: RunTokens):
        self.storage = storage
        self.service = service
        self.tokens = tokens
        self.env_id = storage.get_environment("dev").id

    def run(self, kind: str = "sync") -> tuple[str, Any]:
        """A started run and a context carrying its token."""
        run = self.storage.create_run(self.env_id, NewRun("f", "shop", kind, "c1", "base", "null"))
        self.storage.mark_run_started(run.run_id)
        scope = RunScope(self.env_id, run.run_id, "c1", "shop", "f", kind, "base")
        return run.run_id, Context(self.tokens.mint(scope, 60))

    def log(self, context: Any, message: str, meta: Any = None) -> None:
        request = pb.LogRequest(level="info", message=message, meta_json=json.dumps(meta).encode())
        self.service.Log(request, context)

    def save(self, context: Any, *records: dict[str, Any]) -> pb.RecordBatchResult:
        batch = pb.RecordBatch(
            model="Item",
            records=[pb.Record(id=str(r["id"]), json=json.dumps(r).encode()) for r in records],
        )
        return self.service.BatchSave(batch, context)

    def stored(self, run_id: str) -> list[str]:
        records, _ = self.storage.list_records(self.env_id, "c1", "Item", variant="base")
        return [r.id for r in records]


@contextlib.contextmanager
def callbacks_world(
    tmp_path: pathlib.Path, budgets: dict[str, int], **options: Any
) -> Iterator[World]:
    """A SQLite store with environment ``dev`` (these ``budgets``), integration ``shop`` and
    connection ``c1``, and the callback service over it (``options``: its keywords)."""
    storage = SqliteStorage(tmp_path / "corral.db")
    env, _ = storage.create_environment("dev")
    storage.set_environment_settings(env.id, validated({"budgets": budgets}))
    storage.upsert_integration(
        env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        env.id, "shop", "c1", credentials={"type": "NONE"}, connection_config={}, metadata={}
    )
    client = httpx.Client()
    tokens = RunTokens()
    proxy = Proxy(client, FakeClock(), EgressPolicy())
    service = CallbacksService(
        storage, proxy, ConnectionService(storage, client, FakeClock()), lambda *a: None, **options
    )
    try:
        yield World(storage, authenticated(service, tokens), tokens)
    finally:
        client.close()
        storage.close()
