"""Environment variables are bounded in count and size, refused typed before any store work,
so one tenant's huge ``SetEnvironmentVariables`` cannot hold the store's writer."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from corral import _budgets
from corral.errors import ResourceExhausted
from orchestrator.storage._sqlite import SqliteStorage

BIG = _budgets.MAX_VARIABLE_BYTES
OVER: dict[str, list[tuple[str, str]]] = {
    "variables": [(f"V{i}", "x") for i in range(_budgets.MAX_VARIABLES + 1)],
    "variable_name": [("N" * (_budgets.MAX_VARIABLE_NAME + 1), "x")],
    "variable_bytes": [("V", "x" * (BIG + 1))],
    "variables_bytes": [(f"V{i}", "x" * BIG) for i in range(_budgets.MAX_VARIABLES_BYTES // BIG)],
}


@pytest.fixture
def storage(tmp_path: pathlib.Path) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "corral.db")
    yield store
    store.close()


@pytest.mark.parametrize("resource", sorted(OVER))
def test_variables_over_a_bound_are_refused_and_nothing_changes(
    storage: SqliteStorage, resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, _ = storage.create_environment("dev")
    storage.set_environment_variables(env.id, [("KEPT", "1")])

    def no_store_work(*args: Any) -> None:
        raise AssertionError("the store was written to")

    monkeypatch.setattr(storage, "_write", no_store_work)
    with pytest.raises(ResourceExhausted) as caught:
        storage.set_environment_variables(env.id, OVER[resource])
    assert caught.value.resource == resource
    monkeypatch.undo()
    assert storage.get_environment_variables(env.id) == [("KEPT", "1")]


def test_variables_at_every_bound_are_stored(storage: SqliteStorage) -> None:
    env, _ = storage.create_environment("dev")
    many = [(f"V{i}", "x") for i in range(_budgets.MAX_VARIABLES)]
    storage.set_environment_variables(env.id, many)
    assert len(storage.get_environment_variables(env.id)) == _budgets.MAX_VARIABLES
    widest = [("N" * _budgets.MAX_VARIABLE_NAME, "x" * BIG)]
    storage.set_environment_variables(env.id, widest)
    assert storage.get_environment_variables(env.id) == widest
