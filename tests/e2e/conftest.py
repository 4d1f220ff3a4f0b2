"""One orchestrator (with its runner) and one fake API for the end-to-end tests of a module."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from corral.cli import Client
from tests.support.fake_api import FakeApi, running_fake_api
from tests.support.service import Service, running_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("serve") / "data") as svc:
        yield svc
    assert svc.process.returncode == 0, pathlib.Path(svc.stderr_path).read_text()[-2000:]


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeApi]:
    with running_fake_api() as api:
        yield api


@pytest.fixture
def client(service: Service) -> Iterator[Client]:
    with Client(service.address, service.secret_key, timeout=60) as c:
        yield c
