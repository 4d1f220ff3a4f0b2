"""Helpers shared by the storage tests: engines, a manual clock, records, a seeded tenant.

Every storage test runs against each engine in ``ENGINES`` that implements the storage areas
the test uses (``ENGINE_AREAS``). A test names its areas with the ``storage_areas`` marker
(``@pytest.mark.storage_areas("tenants", "connections")``, or ``pytestmark`` for a module); a
test without the marker uses every area. A test of the SQLite file itself names
``sqlite_file``, which only the SQLite engine has. The ``engine`` fixture
(tests/orchestrator/conftest.py) is parametrized accordingly, so a test runs on PostgreSQL as
soon as the areas it names are ported, and until then it does not run there at all: never a
skip, never a failure. The test session's summary counts the tests still waiting for areas.

On PostgreSQL each test gets a fresh database, copied from a migrated template on the session's
server (``tests/support/postgres.py``); ``open_engine`` finds it by the test's ``tmp_path``, so
opening twice in one test opens the same database, as it opens the same SQLite file.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from orchestrator.storage._areas import RecordIn, RecordScope, Storage
from orchestrator.storage._pg import PORTED_AREAS, PostgresStorage
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


def _postgresql(tmp_path: pathlib.Path, clock: Clock, **options: Any) -> Storage:
    url = POSTGRES_DATABASES.get(tmp_path)
    if url is None:
        raise RuntimeError("the test's PostgreSQL database is made by the `engine` fixture")
    return PostgresStorage(url, clock=clock, **options)


ENGINES: dict[str, Callable[..., Storage]] = {"sqlite": _sqlite, "postgresql": _postgresql}

AREAS = frozenset(
    {
        "tenants",
        "connections",
        "functions",
        "runs",
        "records",
        "tracking",
        "checkpoints",
        "schedules",
    }
)
"""The storage areas of ``orchestrator.storage._areas``, by short name."""

SQLITE_FILE = "sqlite_file"
"""Not an area: the mark of a test that reads or locks the SQLite file itself."""

ENGINE_AREAS: dict[str, frozenset[str]] = {
    "sqlite": AREAS | {SQLITE_FILE},
    "postgresql": PORTED_AREAS,
}
"""The areas each engine implements so far."""

POSTGRES_DATABASES: dict[pathlib.Path, str] = {}
"""The URL of the current PostgreSQL test database, by the test's ``tmp_path``."""

WAITING: dict[str, set[str]] = {}
"""Tests that do not run on an engine yet, by engine: they use areas it does not implement
(tests of the SQLite file itself are not waiting for anything)."""


def engines_for(areas: frozenset[str]) -> list[str]:
    """The engines that implement every one of ``areas``, by name.

    Raises:
        ValueError: an area name is unknown.
    """
    unknown = areas - AREAS - {SQLITE_FILE}
    if unknown:
        raise ValueError(f"unknown storage areas {sorted(unknown)}; known: {sorted(AREAS)}")
    return sorted(engine for engine in ENGINES if areas <= ENGINE_AREAS[engine])


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


def statements_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first word of each statement any psycopg connection executes from now on, in upper
    case and in order (a list that fills as they are sent)."""
    sent: list[str] = []
    real_execute = psycopg.Connection.execute

    def counted(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append((str(query).split() or ["(empty)"])[0].upper())
        return real_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counted)
    return sent
