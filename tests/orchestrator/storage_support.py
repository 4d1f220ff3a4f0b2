"""Helpers shared by the storage tests: engines, a manual clock, records, a seeded tenant.

Every storage test runs against each engine in ``ENGINES`` (PostgreSQL joins later): the test
modules define ``engine`` (parametrized over ``ENGINES``), ``clock`` and ``storage`` fixtures on
top of ``open_engine``.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.storage._areas import RecordIn, RecordScope, Storage
from orchestrator.storage._records import content_hash
from orchestrator.storage._sqlite import SqliteStorage

START = datetime(2026, 11, 22, 23, 57, 47, 123456, tzinfo=UTC)


class Clock:
    """A clock that moves one second each time it is read, or as told."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(seconds=1)
        return now


def _sqlite(tmp_path: pathlib.Path, clock: Clock, **options: Any) -> Storage:
    return SqliteStorage(tmp_path / "corral.db", clock=clock, **options)


ENGINES: dict[str, Callable[..., Storage]] = {"sqlite": _sqlite}


@contextmanager
def open_engine(
    engine: str, tmp_path: pathlib.Path, clock: Clock, **options: Any
) -> Iterator[Storage]:
    """A storage of the named engine (with engine options), closed afterwards."""
    storage = ENGINES[engine](tmp_path, clock, **options)
    try:
        yield storage
    finally:
        storage.close()


@dataclass(frozen=True)
class Tenant:
    """An environment with an integration ``github`` and a connection ``conn-1``."""

    env_id: int
    secret_key: str

    def scope(self, model: str = "Issue", variant: str = "", run_id: str = "run-1") -> RecordScope:
        return RecordScope(self.env_id, "conn-1", model, variant, run_id)


def make_tenant(storage: Storage, name: str = "acme/prod") -> Tenant:
    environment, secret_key = storage.create_environment(name)
    storage.upsert_integration(
        environment.id,
        "github",
        provider="github",
        base_url="https://api.github.com",
        auth_mode="BEARER",
        auth_config={},
    )
    storage.create_connection(
        environment.id,
        "github",
        "conn-1",
        credentials={"type": "BEARER", "token": "t"},
        connection_config={},
        metadata={},
    )
    return Tenant(environment.id, secret_key)


def rec(record_id: str, **fields: Any) -> RecordIn:
    """A record ``{"id": record_id, **fields}`` as the runner sends it."""
    data = json.dumps({"id": record_id, **fields}, separators=(",", ":")).encode()
    return RecordIn(record_id, data, content_hash(data))


def body(data: bytes) -> Any:
    return json.loads(data)
