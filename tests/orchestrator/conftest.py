"""Storage fixtures shared by the storage tests: each test runs against every engine that
implements the storage areas it names (``storage_areas`` marker; see storage_support)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from orchestrator.storage._areas import Storage
from orchestrator.storage._pg import PostgresStorage
from tests.orchestrator.storage_support import (
    AREAS,
    ENGINE_AREAS,
    ENGINES,
    POSTGRES_DATABASES,
    WAITING,
    Clock,
    Tenant,
    engines_for,
    make_tenant,
    open_engine,
)
from tests.support.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A database migrated once per session, copied for each PostgreSQL test."""
    name = "corral_template"
    PostgresStorage(postgres_server.create_database(name)).close()
    return name


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrizes ``engine`` over the engines that implement the test's storage areas."""
    if "engine" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("storage_areas")
    areas = frozenset(marker.args) if marker is not None else AREAS
    engines = engines_for(areas)
    for other in sorted(set(ENGINES) - set(engines)):
        if (areas - ENGINE_AREAS[other]) & AREAS:
            WAITING.setdefault(other, set()).add(metafunc.definition.nodeid)
    metafunc.parametrize("engine", engines, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    """The engine's name; on PostgreSQL, with a fresh migrated database for this test."""
    name = str(request.param)
    if name != "postgresql":
        yield name
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("postgres_template")
    database = server.unique_name("test")
    POSTGRES_DATABASES[tmp_path] = server.create_database(database, template=template)
    try:
        yield name
    finally:
        del POSTGRES_DATABASES[tmp_path]
        server.drop_database(database)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(engine: str, tmp_path: pathlib.Path, clock: Clock) -> Iterator[Storage]:
    with open_engine(engine, tmp_path, clock) as opened:
        yield opened


@pytest.fixture
def tenant(storage: Storage) -> Tenant:
    return make_tenant(storage)
