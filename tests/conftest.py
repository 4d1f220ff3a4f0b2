"""Suite-wide fixtures and ordering.

A real PostgreSQL server (``postgres_server``) starts the first time a test asks for it, once per
test session, and is stopped and removed when the session ends, also when it fails.

Tests that fork the pytest process itself run first.

Such a test forks this very process to apply containment to the child, as the runner does at
start, before it creates any gRPC object. Forking a process in which gRPC has run recreates
gRPC's event file descriptors in the parent and can abort the child (gRPC's fork handlers), so
these tests go before any test that serves or calls gRPC in-process. The order is otherwise
kept, so the suite stays deterministic.
"""

from __future__ import annotations

import pathlib
import tempfile
from collections.abc import Iterator

import pytest

from corral._memory import bound_heap
from tests.support.postgres import PostgresServer


def pytest_configure(config: pytest.Config) -> None:
    """Caps the heap arenas of this process before any thread allocates, as ``serve`` and a
    runner do: the warm parents that tests fork from it then have the address space of a small
    process, not a gigabyte of arenas that a worker's ``RLIMIT_AS`` would count
    (``corral._memory``)."""
    del config
    bound_heap()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test session, on a temporary directory and free port."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="corral-pg-"))
    with PostgresServer.started(root) as server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Moves the ``forks_pytest`` tests to the front, keeping the order within each group."""
    forking = [item for item in items if item.get_closest_marker("forks_pytest")]
    others = [item for item in items if not item.get_closest_marker("forks_pytest")]
    items[:] = forking + others


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Says how many storage tests do not run on an engine yet (areas not ported)."""
    from tests.orchestrator.storage_support import (  # noqa: PLC0415
        AREAS,
        ENGINE_AREAS,
        WAITING,
    )

    for engine, tests in sorted(WAITING.items()):
        missing = sorted(AREAS - ENGINE_AREAS[engine])
        terminalreporter.write_line(
            f"storage engines: {len(tests)} storage tests do not run on {engine} yet"
            f" (they use areas it does not implement: {', '.join(missing)})"
        )
