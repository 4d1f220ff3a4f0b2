"""On PostgreSQL the run tokens live in the run's own database (``RunTokenWrites``): a run the
caller waits for stores its token with its row's insert and revokes it with its row's finish,
one statement each, so a trivial run is one round trip to the store before the runner and one
after (with the two reads before it: its caller's key and its function). The token resolves
exactly while the run runs, and a finish that fails still revokes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from corral.errors import NotFound, Unauthenticated, Unavailable
from corral.v1 import runner_pb2
from orchestrator.runs._fair_queue import FairQueue
from orchestrator.runs._manager import RunManager
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import NewRun, NewToken, Run, RunTokenWrites
from orchestrator.storage._pg import PostgresStorage
from tests.orchestrator.storage_support import statements_sent
from tests.orchestrator.test_run_outcome import _spec
from tests.support.postgres import PostgresServer


@pytest.fixture
def pg(postgres_server: PostgresServer, postgres_template: str) -> Iterator[PostgresStorage]:
    database = postgres_server.unique_name("joint")
    storage = PostgresStorage(postgres_server.create_database(database, template=postgres_template))
    try:
        yield storage
    finally:
        storage.close()
        postgres_server.drop_database(database)


class ResolvingRunner:
    """Resolves the run's token while it runs, as the run's SDK calls do."""

    def __init__(self, tokens: RunTokens) -> None:
        self.tokens = tokens
        self.scopes: list[RunScope] = []
        self.token = ""

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        self.token = request.run_token
        self.scopes.append(self.tokens.resolve(request.run_token))
        return runner_pb2.RunResponse(ok=True, output_json="2")

    def cancel(self, run_id: str) -> bool:
        return False


def test_a_run_stores_and_revokes_its_token_in_its_own_two_writes(
    pg: PostgresStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With its integration's provider, read with its function (``target_for``), as the API's
    # runs are: the dispatch reads nothing more.
    spec = replace(_spec(pg), provider="shop")  # type: ignore[arg-type]
    tokens = RunTokens(store=pg)
    runner = ResolvingRunner(tokens)
    runs = RunManager(pg, tokens, runner, FairQueue(2, lambda env_id: 2))
    runs.run(spec)  # the first one also purges expired tokens (hourly)
    sent = statements_sent(monkeypatch)
    finished = runs.run(spec)
    # The run's insert with its token, the SDK call's lookup of the token, the run's finish
    # with the token's revocation: no statement of the token's own.
    assert sent == ["WITH", "SELECT", "WITH"]
    assert finished.state == "succeeded"
    scope = runner.scopes[-1]
    assert (scope.env_id, scope.run_id, scope.function_name) == (
        spec.env.id,
        finished.run_id,
        "echo",
    )
    with pytest.raises(Unauthenticated):
        tokens.resolve(runner.token)
    with pytest.raises(Unauthenticated):  # on another orchestrator sharing the database too
        RunTokens(store=pg, cache_seconds=0).resolve(runner.token)
    runs.shutdown(0)


class FailingFinish(PostgresStorage):
    def finish_run_revoking(self, *args: Any) -> Run:
        raise Unavailable("the store went away", code="storage_unavailable")


def test_a_finish_that_fails_still_revokes_the_token(
    postgres_server: PostgresServer, postgres_template: str
) -> None:
    database = postgres_server.unique_name("joint")
    storage = FailingFinish(postgres_server.create_database(database, template=postgres_template))
    try:
        spec = _spec(storage)  # type: ignore[arg-type]
        tokens = RunTokens(store=storage)
        runner = ResolvingRunner(tokens)
        finished = RunManager(storage, tokens, runner, FairQueue(2, lambda env_id: 2)).run(spec)
        assert runner.scopes  # it resolved while the run ran
        assert finished.state == "failed"  # its outcome could not be stored: said so
        with pytest.raises(Unauthenticated):
            RunTokens(store=storage, cache_seconds=0).resolve(runner.token)
    finally:
        storage.close()
        postgres_server.drop_database(database)


def test_a_run_and_its_token_are_stored_together_or_not_at_all(pg: PostgresStorage) -> None:
    assert isinstance(pg, RunTokenWrites)
    env, _ = pg.create_environment("e")
    run = NewRun("f", "i", "action", "c", "base", "null", started=True, run_id="run-1")
    token = NewToken(b"d" * 32, env.id, {"run_id": "run-1"}, 60)
    with pytest.raises(NotFound):
        pg.create_run_with_token(env.id + 1000, run, NewToken(b"e" * 32, env.id + 1000, {}, 60))
    assert pg.resolve_token(b"e" * 32) is None

    stored = pg.create_run_with_token(env.id, run, token)
    assert (stored.run_id, stored.state) == ("run-1", "running")
    assert pg.resolve_token(token.digest) == {"run_id": "run-1", "env_id": env.id}

    ended = pg.finish_run_revoking("run-1", True, "1", None, token.digest)
    assert (ended.state, ended.output_json) == ("succeeded", "1")
    assert pg.resolve_token(token.digest) is None
    # A second finish changes nothing, and revokes all the same.
    pg.mint_token(token.digest, env.id, {"run_id": "run-1"}, 60)
    again = pg.finish_run_revoking("run-1", False, None, {"type": "late"}, token.digest)
    assert (again.state, again.output_json) == ("succeeded", "1")
    assert pg.resolve_token(token.digest) is None
