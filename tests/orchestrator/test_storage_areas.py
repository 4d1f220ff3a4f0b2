"""Storage areas: disjoint protocols that make up ``Storage``, one SQLite module per area.

An area's semantics may be written once for every engine (``_area_<area>``); an engine's area
module then builds its mixin on it, and the mixin with what it inherits must still implement
exactly its area.

Every engine in ``ENGINES`` must implement each area it claims (``ENGINE_AREAS``) with the
protocol's exact signatures, and each area module of an engine (SQLite's all, PostgreSQL's
ported ones) must implement exactly its area: no method missing, none extra, none shared with
another area.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import typing
from collections.abc import Callable
from typing import Any

import pytest

import orchestrator
from orchestrator.storage import _needs as _storage_needs
from orchestrator.storage._areas import (
    CheckpointStore,
    ConnectionStore,
    FunctionStore,
    RecordStore,
    RunnerRegistry,
    RunStore,
    RunTokenWrites,
    ScheduleStore,
    Storage,
    TenantStore,
    TokenStore,
    TrackingStore,
)
from orchestrator.storage._memory_runners import MemoryRunnerRegistry
from orchestrator.storage._memory_tokens import MemoryTokenStore
from orchestrator.storage._pg import PORTED_AREAS, PostgresStorage
from orchestrator.storage._pg_base import PostgresBase
from orchestrator.storage._sqlite import SqliteStorage
from orchestrator.storage._sqlite_base import SqliteBase
from tests.orchestrator.storage_support import AREAS as AREA_NAMES
from tests.orchestrator.storage_support import Clock, open_engine

AREAS: dict[str, tuple[type, str]] = {
    "_sqlite_tenants": (TenantStore, "TenantsMixin"),
    "_sqlite_connections": (ConnectionStore, "ConnectionsMixin"),
    "_sqlite_functions": (FunctionStore, "FunctionsMixin"),
    "_sqlite_runs": (RunStore, "RunsMixin"),
    "_sqlite_records": (RecordStore, "RecordsMixin"),
    "_sqlite_tracking": (TrackingStore, "TrackingMixin"),
    "_sqlite_checkpoints": (CheckpointStore, "CheckpointsMixin"),
    "_sqlite_schedules": (ScheduleStore, "SchedulesMixin"),
}
"""Each SQLite area module, the protocol it implements and the mixin that implements it."""

PG_AREAS: dict[str, tuple[str, str]] = {
    "tenants": ("_pg_tenants", "_sqlite_tenants"),
    "connections": ("_pg_connections", "_sqlite_connections"),
    "functions": ("_pg_functions", "_sqlite_functions"),
    "runs": ("_pg_runs", "_sqlite_runs"),
    "records": ("_pg_records", "_sqlite_records"),
    "tracking": ("_pg_tracking", "_sqlite_tracking"),
    "checkpoints": ("_pg_checkpoints", "_sqlite_checkpoints"),
    "schedules": ("_pg_schedules", "_sqlite_schedules"),
}
"""Each area's PostgreSQL module and its SQLite counterpart."""

PG_EXTRAS: dict[str, tuple[type, str]] = {
    "_pg_tokens": (TokenStore, "TokensMixin"),
    "_pg_runners": (RunnerRegistry, "RunnersMixin"),
}
"""PostgreSQL modules of areas outside ``Storage`` (SQLite keeps run tokens and the fleet's
runners in memory)."""

MEMORY_TWINS: dict[str, type] = {
    "_pg_tokens": MemoryTokenStore,
    "_pg_runners": MemoryRunnerRegistry,
}
"""The in-memory implementation one SQLite orchestrator uses instead of each of them."""

PG_ONLY: dict[str, tuple[type, str]] = {
    "_pg_run_tokens": (RunTokenWrites, "RunTokenWritesMixin"),
}
"""PostgreSQL modules of what only that engine does (a run's token written by its run's own
statements: SQLite keeps tokens in memory, apart from its runs)."""

ENGINE_ONLY = frozenset({"close", "use_secrets"})
"""``Storage``'s own methods, which belong to the engine rather than to an area."""

PACKAGE = pathlib.Path(orchestrator.__file__).parent
STORAGE = PACKAGE / "storage"


def methods(cls: type) -> set[str]:
    """The public methods a class defines itself (not inherited)."""
    return {name for name, value in vars(cls).items() if callable(value) and name[0] != "_"}


ENGINE_BASES = frozenset({*SqliteBase.__mro__, *PostgresBase.__mro__})
"""The engines' plumbing (and the engine-neutral interface it implements): no area's."""


def area_methods(mixin: type) -> set[str]:
    """The public methods an engine's area mixin provides: its own, and those of the
    engine-neutral area it builds on (``_area_<area>``), but none of its engine's plumbing."""
    return set().union(*(methods(cls) for cls in mixin.__mro__ if cls not in ENGINE_BASES))


def protocol_methods(protocol: type) -> set[str]:
    """Every method of a protocol, its bases' included."""
    return set().union(*(methods(cls) for cls in protocol.__mro__ if cls is not object))


def signature(function: Callable[..., Any]) -> tuple[object, ...]:
    """A method's parameters (name, kind, default, resolved type) and its return type."""
    hints = typing.get_type_hints(function)
    parameters = tuple(
        (p.name, p.kind, p.default, hints.get(p.name))
        for p in inspect.signature(function).parameters.values()
    )
    return parameters, hints.get("return")


def area_protocols() -> list[type]:
    return [base for base in Storage.__bases__ if base is not typing.Protocol]


def test_storage_is_exactly_the_areas() -> None:
    assert set(area_protocols()) == {protocol for protocol, _ in AREAS.values()}
    assert methods(Storage) == ENGINE_ONLY


def test_no_method_is_in_two_areas() -> None:
    seen: dict[str, str] = {}
    for protocol in area_protocols():
        for name in methods(protocol):
            assert name not in seen, f"{name} is in {seen[name]} and {protocol.__name__}"
            seen[name] = protocol.__name__


def test_the_areas_together_hold_every_storage_method() -> None:
    together = set().union(*(methods(protocol) for protocol in area_protocols()))

    assert together | ENGINE_ONLY == protocol_methods(Storage)


@pytest.mark.parametrize("module_name", sorted(AREAS))
def test_each_sqlite_module_implements_exactly_its_area(module_name: str) -> None:
    protocol, mixin_name = AREAS[module_name]
    mixin = getattr(importlib.import_module(f"orchestrator.storage.{module_name}"), mixin_name)

    assert area_methods(mixin) == methods(protocol)
    for name in methods(protocol):
        expected = signature(getattr(protocol, name))
        assert signature(getattr(mixin, name)) == expected, f"{mixin_name}.{name}"


def test_every_sqlite_module_is_an_area_or_the_base() -> None:
    modules = {path.stem for path in STORAGE.glob("_sqlite_*.py")}

    assert modules == {*AREAS, "_sqlite_base"}
    mixins = {
        getattr(importlib.import_module(f"orchestrator.storage.{m}"), n)
        for m, (_, n) in AREAS.items()
    }
    assert set(SqliteStorage.__bases__) == mixins


@pytest.mark.parametrize("area", sorted(PORTED_AREAS))
def test_each_ported_postgresql_module_implements_exactly_its_area(area: str) -> None:
    module_name, sqlite_module = PG_AREAS[area]
    protocol, mixin_name = AREAS[sqlite_module]
    mixin = getattr(importlib.import_module(f"orchestrator.storage.{module_name}"), mixin_name)

    assert area_methods(mixin) == methods(protocol)
    for name in methods(protocol):
        expected = signature(getattr(protocol, name))
        assert signature(getattr(mixin, name)) == expected, f"{mixin_name}.{name}"


@pytest.mark.parametrize("module_name", sorted(PG_EXTRAS))
def test_each_postgresql_extra_module_implements_exactly_its_protocol(module_name: str) -> None:
    protocol, mixin_name = PG_EXTRAS[module_name]
    mixin = getattr(importlib.import_module(f"orchestrator.storage.{module_name}"), mixin_name)

    for implementation in (mixin, MEMORY_TWINS[module_name]):
        assert methods(implementation) == methods(protocol)
        for name in methods(protocol):
            expected = signature(getattr(protocol, name))
            assert signature(getattr(implementation, name)) == expected, f"{name}"
    assert not set(methods(protocol)) & set().union(*map(methods, area_protocols()))


@pytest.mark.parametrize("module_name", sorted(PG_ONLY))
def test_each_postgresql_only_module_implements_exactly_its_protocol(module_name: str) -> None:
    protocol, mixin_name = PG_ONLY[module_name]
    mixin = getattr(importlib.import_module(f"orchestrator.storage.{module_name}"), mixin_name)

    assert methods(mixin) == methods(protocol)
    for name in methods(protocol):
        assert signature(getattr(mixin, name)) == signature(getattr(protocol, name)), name
    assert not set(methods(protocol)) & set().union(*map(methods, area_protocols()))
    assert isinstance(PostgresStorage.__new__(PostgresStorage), protocol)


def test_the_postgresql_engine_is_its_ported_areas() -> None:
    modules = {path.stem for path in STORAGE.glob("_pg_*.py")}

    assert set(PG_AREAS) == AREA_NAMES
    assert modules == {PG_AREAS[area][0] for area in PORTED_AREAS} | {
        "_pg_base",
        *PG_EXTRAS,
        *PG_ONLY,
    }
    assert set(PostgresStorage.__bases__) == {
        getattr(
            importlib.import_module(f"orchestrator.storage.{PG_AREAS[area][0]}"),
            AREAS[PG_AREAS[area][1]][1],
        )
        for area in PORTED_AREAS
    } | {
        getattr(importlib.import_module(f"orchestrator.storage.{module}"), mixin)
        for module, (_, mixin) in {**PG_EXTRAS, **PG_ONLY}.items()
    }
    assert methods(PostgresBase) >= ENGINE_ONLY


def test_the_engine_base_implements_close() -> None:
    base = importlib.import_module("orchestrator.storage._sqlite_base").SqliteBase

    assert methods(base) >= ENGINE_ONLY
    for name in ENGINE_ONLY:
        assert signature(getattr(base, name)) == signature(getattr(Storage, name))


def test_each_engine_implements_every_area(
    engine: str, tmp_path: pathlib.Path, clock: Clock
) -> None:
    with open_engine(engine, tmp_path, clock) as storage:
        for protocol in [*area_protocols(), Storage]:
            for name in methods(protocol):
                implemented = getattr(type(storage), name)
                expected = signature(getattr(protocol, name))
                assert signature(implemented) == expected, f"{protocol.__name__}.{name}"


def test_storage_needs_only_combine_areas() -> None:
    needs = [
        value
        for value in vars(_storage_needs).values()
        if isinstance(value, type) and value.__module__ == _storage_needs.__name__
    ]

    assert needs
    for protocol in needs:
        assert methods(protocol) == set(), protocol.__name__
        assert set(protocol.__bases__) - {typing.Protocol} <= set(area_protocols())


def test_only_the_wiring_holds_the_whole_storage() -> None:
    # Parts take the areas they use; only the process that opens the store, and the storage
    # modules themselves, name ``Storage``.
    allowed = {
        "_app.py",
        "storage/_areas.py",
        "storage/_sqlite.py",
        "storage/_pg.py",
        "__init__.py",
    }
    offenders = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in allowed
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Name) and node.id == "Storage"
    ]

    assert offenders == []
