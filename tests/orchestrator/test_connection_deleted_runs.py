"""A run's token names its connection by id; a deleted connection's runs reach nothing of the
connection made later under the same id (perhaps another integration's, with other
credentials).

Found by a red team: a running action of integration ``gh`` kept its token after its
connection was deleted; re-made under ``sf`` with another key, the old run read the new
connection's credentials, sent requests with them, and wrote its metadata and records.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import httpx
import pytest

from corral.errors import NotFound, Unauthenticated
from orchestrator._clock import FakeClock
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.proxy._connections import ConnectionService
from orchestrator.runs._manager import RunManager
from orchestrator.runs._run_request import RunRequestSpec
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import Environment, FunctionRow
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.test_dispatch import Recorder


@pytest.fixture
def storage(tmp_path: pathlib.Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "corral.db")
    yield opened
    opened.close()


def _integration(storage: SqliteStorage, env: Environment, key: str) -> None:
    storage.upsert_integration(
        env.id, key, provider=key, base_url="", auth_mode="API_KEY", auth_config={}
    )


def _connect(storage: SqliteStorage, env: Environment, integration: str, key: str) -> None:
    storage.create_connection(
        env.id,
        integration,
        "acme",
        credentials={"type": "API_KEY", "api_key": key},
        connection_config={},
        metadata={"owner": integration},
    )


@pytest.fixture
def env(storage: SqliteStorage) -> Environment:
    made, _ = storage.create_environment("tenant")
    _integration(storage, made, "gh")
    _integration(storage, made, "sf")
    _connect(storage, made, "gh", "gh-OLD")
    return made


def _function(storage: SqliteStorage, env: Environment) -> FunctionRow:
    row = FunctionRow("items", "action", "1", "", {}, {"items.py": "x = 1"}, "items.py", "h")
    (function,) = storage.replace_functions(env.id, "gh", [row])
    return function


def _scope(env: Environment, integration: str = "gh") -> RunScope:
    return RunScope(env.id, "run-1", "acme", integration, "items", "action", "base")


def test_deleting_a_connection_ends_the_tokens_of_its_runs(
    storage: SqliteStorage, env: Environment
) -> None:
    tokens = RunTokens()
    lifecycle = Lifecycle(storage, RunManager(storage, tokens, Recorder()))
    token = tokens.mint(_scope(env), 600)
    other = tokens.mint(RunScope(env.id, "run-2", "globex", "gh", "items", "action", "base"), 600)
    lifecycle.delete_connection(env, "gh", "acme")
    with pytest.raises(Unauthenticated):
        tokens.resolve(token)
    assert tokens.resolve(other).connection_id == "globex"  # another connection's run goes on


def test_deleting_an_integration_ends_the_tokens_of_its_functions_runs(
    storage: SqliteStorage, env: Environment
) -> None:
    tokens = RunTokens()
    lifecycle = Lifecycle(storage, RunManager(storage, tokens, Recorder()))
    token = tokens.mint(_scope(env), 600)
    elsewhere = tokens.mint(RunScope(env.id, "run-2", "x", "sf", "f", "action", "base"), 600)
    lifecycle.delete_integration(env, "gh")
    with pytest.raises(Unauthenticated):
        tokens.resolve(token)
    assert tokens.resolve(elsewhere).integration_key == "sf"


@pytest.mark.parametrize("made_again", [None, "sf"])
def test_a_run_that_waited_fails_when_its_connection_went_meanwhile(
    storage: SqliteStorage, env: Environment, made_again: str | None
) -> None:
    runner = Recorder(output="ran")
    runs = RunManager(storage, RunTokens(), runner)
    spec = RunRequestSpec(env, _function(storage, env), "acme", provider="gh")
    queued = runs.start(spec)  # it waits for its slot...
    storage.delete_connection(env.id, "acme")  # ...while the connection goes
    if made_again:
        _connect(storage, env, made_again, "sf-NEW")
    finished = runs.execute(spec, queued)
    assert finished.state == "failed"
    error = dict(finished.error or {})
    assert error["type"] == "unknown_connection", error
    assert runner.requests == []  # never sent: no worker holds a token for the new one


def test_a_run_that_waited_for_a_connection_made_again_in_its_integration_runs(
    storage: SqliteStorage, env: Environment
) -> None:
    runner = Recorder(output="ran")
    runs = RunManager(storage, RunTokens(), runner)
    spec = RunRequestSpec(env, _function(storage, env), "acme", provider="gh")
    queued = runs.start(spec)
    storage.delete_connection(env.id, "acme")
    _connect(storage, env, "gh", "gh-NEW")  # the same integration's connection: its functions'
    assert runs.execute(spec, queued).state == "succeeded"


def test_a_run_never_reads_a_connection_of_another_integration(
    storage: SqliteStorage, env: Environment
) -> None:
    """Whatever token reaches it, a run's connection is read only within its integration."""
    connections = ConnectionService(storage, httpx.Client(), FakeClock())
    view = connections.connection_view(
        _scope(env), force_refresh=False, include_refresh_token=False
    )
    assert view["credentials"]["api_key"] == "gh-OLD"
    storage.delete_connection(env.id, "acme")
    _connect(storage, env, "sf", "sf-NEW")
    with pytest.raises(NotFound) as caught:
        connections.connection_view(_scope(env), force_refresh=False, include_refresh_token=False)
    assert caught.value.code == "unknown_connection"
    assert connections.secrets(_scope(env)) == ()
    assert "sf-NEW" in connections.secrets(_scope(env, "sf"))


def test_a_run_that_waited_fails_when_its_integration_was_made_again_without_its_function(
    storage: SqliteStorage, env: Environment
) -> None:
    """The integration (and with it the function and the connection) deleted, then made again
    under the same key, with another provider and a connection of the same id: the waiting
    run's function is not that integration's any more, so it is not run for that connection."""
    runner = Recorder(output="ran")
    tokens = RunTokens()
    runs = RunManager(storage, tokens, runner)
    lifecycle = Lifecycle(storage, runs)
    spec = RunRequestSpec(env, _function(storage, env), "acme", provider="gh")
    queued = runs.start(spec)
    lifecycle.delete_integration(env, "gh")
    storage.upsert_integration(
        env.id, "gh", provider="other-crm", base_url="", auth_mode="API_KEY", auth_config={}
    )
    _connect(storage, env, "gh", "NEW-CUSTOMER-KEY")
    finished = runs.execute(spec, queued)
    assert finished.state == "failed"
    assert dict(finished.error or {})["type"] == "unknown_connection"
    assert runner.requests == []
