"""Storage fixtures shared by the storage tests: each test runs against every engine."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from orchestrator.storage._areas import Storage
from tests.orchestrator.storage_support import ENGINES, Clock, Tenant, make_tenant, open_engine


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


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
