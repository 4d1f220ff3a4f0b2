"""The fleet's registry on both engines: a heartbeat registers a runner and the next one
replaces what it said; a runner not heard from since a moment is not listed; the PostgreSQL
table is shared by every orchestrator's store on the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.storage._areas import RunnerRecord, RunnerRegistry
from orchestrator.storage._memory_runners import MemoryRunnerRegistry
from orchestrator.storage._pg import PostgresStorage
from tests.support.postgres import PostgresServer

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _record(runner_id: str, address: str, at: datetime, **changes: object) -> RunnerRecord:
    fields: dict[str, object] = {
        "runner_id": runner_id,
        "address": address,
        "slots": 8,
        "runs_in_progress": 0,
        "idle_workers": 2,
        "layers_applied": ("rlimits", "seccomp"),
        "layers_missing": {"cgroup": "not root"},
        "draining": False,
        "version": "0.1.0",
        "last_heartbeat": at,
    }
    return RunnerRecord(**(fields | changes))  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "postgresql"])
def registries(
    request: pytest.FixtureRequest, postgres_server: PostgresServer, postgres_template: str
) -> Iterator[tuple[RunnerRegistry, RunnerRegistry]]:
    """Two orchestrators' registries: one dict (SQLite has one orchestrator), or two stores on
    one database."""
    if request.param == "memory":
        registry = MemoryRunnerRegistry()
        yield registry, registry
        return
    url = postgres_server.create_database(
        postgres_server.unique_name("fleet"), template=postgres_template
    )
    first, second = PostgresStorage(url), PostgresStorage(url)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_heartbeats_register_update_and_age_out(
    registries: tuple[RunnerRegistry, RunnerRegistry],
) -> None:
    one, other = registries
    one.runner_heartbeat(_record("r1", "10.0.0.2:7710", NOW))
    one.runner_heartbeat(_record("r2", "10.0.0.1:7710", NOW))
    later = NOW + timedelta(seconds=5)
    one.runner_heartbeat(_record("r1", "10.0.0.2:7710", later, runs_in_progress=3, draining=True))

    listed = other.list_fleet_runners(NOW - timedelta(seconds=1))
    assert [r.runner_id for r in listed] == ["r2", "r1"]  # by address
    assert listed[1] == _record("r1", "10.0.0.2:7710", later, runs_in_progress=3, draining=True)
    assert [r.runner_id for r in other.list_fleet_runners(NOW + timedelta(seconds=1))] == ["r1"]
