"""Run tokens shared by several orchestrators on one PostgreSQL database (issue 11).

Two ``PostgresStorage`` instances on one database stand for two orchestrators: a worker's
callback may land on either. The ``TokenStore`` contract itself runs on both stores (memory,
for one SQLite orchestrator, and PostgreSQL).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from corral.errors import NotFound, Unauthenticated
from orchestrator.runs._tokens import SHARED_CACHE_SECONDS, RunScope, RunTokens
from orchestrator.storage._areas import TokenStore
from orchestrator.storage._memory_tokens import MemoryTokenStore
from orchestrator.storage._pg import PostgresStorage
from tests.support.postgres import PostgresServer


class WallClock:
    """A UTC clock that moves only when told (the stores' expiry clock)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Monotonic:
    """Monotonic seconds that move only when told (the cache's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Orchestrators:
    """Two stores on one database, their shared wall clock, and two environments."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = WallClock()
        self.a = PostgresStorage(url, clock=self.clock, pool_size=2)
        self.b = PostgresStorage(url, clock=self.clock, pool_size=2)
        self.env1 = self.a.create_environment("acme/prod")[0].id
        self.env2 = self.a.create_environment("globex/prod")[0].id

    def scope(self, env_id: int, run_id: str = "run-1") -> RunScope:
        return RunScope(env_id=env_id, run_id=run_id, connection_id="conn-1",
                        integration_key="github", function_name="issues", kind="sync",
                        variant="base", depth=1)  # fmt: skip

    def close(self) -> None:
        self.a.close()
        self.b.close()


@pytest.fixture
def two(postgres_server: PostgresServer, postgres_template: str) -> Iterator[Orchestrators]:
    name = postgres_server.unique_name("tokens")
    url = postgres_server.create_database(name, template=postgres_template)
    pair = Orchestrators(url)
    try:
        yield pair
    finally:
        pair.close()
        postgres_server.drop_database(name)


def _refused(tokens: RunTokens, token: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        tokens.resolve(token)
    assert caught.value.code == "invalid_run_token"


def _accepted(tokens: RunTokens, token: str) -> bool:
    try:
        tokens.resolve(token)
    except Unauthenticated:
        return False
    return True


# ---- two orchestrators ----


def test_a_token_minted_on_one_orchestrator_resolves_on_another(two: Orchestrators) -> None:
    a, b = RunTokens(store=two.a), RunTokens(store=two.b)
    scope = two.scope(two.env1)
    token = a.mint(scope, 60)
    assert b.resolve(token) == scope
    assert a.resolve(token) == scope


def test_revoked_on_one_orchestrator_refused_at_once_without_a_cache(two: Orchestrators) -> None:
    a, b = RunTokens(store=two.a), RunTokens(store=two.b, cache_seconds=0)
    token = a.mint(two.scope(two.env1), 60)
    assert b.resolve(token).run_id == "run-1"
    a.revoke(token)
    _refused(a, token)
    _refused(b, token)


def test_revoked_on_one_orchestrator_refused_by_another_within_the_cache_bound(
    two: Orchestrators,
) -> None:
    monotonic = Monotonic()
    a = RunTokens(store=two.a)
    b = RunTokens(monotonic, store=two.b)  # the default cache of a shared store
    token = a.mint(two.scope(two.env1), 60)
    assert b.resolve(token).run_id == "run-1"  # B now remembers the scope
    a.revoke(token)
    _refused(a, token)  # where it was revoked: at once
    monotonic.now += SHARED_CACHE_SECONDS + 0.001
    _refused(b, token)  # elsewhere: once the bound has passed


def test_revocation_holds_everywhere_within_a_second_in_real_time(two: Orchestrators) -> None:
    a, b = RunTokens(store=two.a), RunTokens(store=two.b)
    token = a.mint(two.scope(two.env1), 60)
    for _ in range(3):
        b.resolve(token)
    a.revoke(token)
    revoked_at = time.monotonic()
    deadline = revoked_at + 5.0
    while _accepted(b, token):
        assert time.monotonic() < deadline, "B still accepts a revoked token"
        time.sleep(0.01)
    assert time.monotonic() - revoked_at <= 1.0
    _refused(b, token)


def test_an_expired_token_is_refused_everywhere_and_purged(two: Orchestrators) -> None:
    a, b = RunTokens(store=two.a), RunTokens(store=two.b)
    token = a.mint(two.scope(two.env1), 10)
    live = a.mint(two.scope(two.env1, "run-2"), 60)
    two.clock.now += timedelta(seconds=10)
    _refused(b, token)
    _refused(a, token)
    assert b.resolve(live).run_id == "run-2"
    assert two.b.purge_expired_tokens() == 1
    assert two.a.purge_expired_tokens() == 0
    assert _rows(two.url) == 1


def test_a_token_never_resolves_another_environments_scope(two: Orchestrators) -> None:
    a, b = RunTokens(store=two.a), RunTokens(store=two.b)
    first = a.mint(two.scope(two.env1), 60)
    second = b.mint(two.scope(two.env2), 60)
    assert a.resolve(second).env_id == two.env2
    assert b.resolve(first).env_id == two.env1
    # The environment column is the authority, whatever the stored scope says.
    digest = hashlib.sha256(b"rt_forged-scope").digest()
    two.a.mint_token(digest, two.env1, {"env_id": two.env2, "run_id": "r"}, 60)
    stored = two.b.resolve_token(digest)
    assert stored is not None
    assert stored["env_id"] == two.env1


def test_no_token_is_minted_for_an_unknown_environment(two: Orchestrators) -> None:
    with pytest.raises(NotFound) as caught:
        RunTokens(store=two.a).mint(two.scope(999_999), 60)
    assert caught.value.code == "unknown_environment"


def test_only_the_digest_is_stored(two: Orchestrators) -> None:
    token = RunTokens(store=two.a).mint(two.scope(two.env1), 60)
    with psycopg.connect(two.url) as conn:
        rows = conn.execute("SELECT digest, scope::text, env_id FROM run_tokens").fetchall()
    assert len(rows) == 1
    digest, scope_text, env_id = rows[0]
    assert bytes(digest) == hashlib.sha256(token.encode()).digest()
    assert token[3:] not in scope_text
    assert env_id == two.env1


# ---- malformed tokens, on both stores ----

MALFORMED = [
    "",
    "rt_",
    "rt_forged",
    "x" * 46,
    "rt_" + "A" * 1_000_000,
    "rt_" + "é" * 43,
    "rt_\ud800" + "A" * 42,
    "rt_\x00" + "A" * 42,
    "rt_' OR 1=1 --",
    "\N{PILE OF POO}" * 20,
]


@pytest.fixture(params=["memory", "postgresql"])
def tokens(request: pytest.FixtureRequest) -> tuple[RunTokens, int]:
    """Run tokens on either store, and an environment id to mint for."""
    if request.param == "memory":
        return RunTokens(), 1
    pair: Orchestrators = request.getfixturevalue("two")
    return RunTokens(store=pair.b), pair.env1


@pytest.mark.parametrize("bad", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_tokens_are_refused_cleanly(tokens: tuple[RunTokens, int], bad: str) -> None:
    run_tokens, _ = tokens
    _refused(run_tokens, bad)
    run_tokens.revoke(bad)  # revoking one is a no-op, not an error


def test_a_valid_token_with_a_changed_character_is_refused(tokens: tuple[RunTokens, int]) -> None:
    run_tokens, env_id = tokens
    scope = RunScope(env_id, "r", "c", "i", "f", "sync", "base")
    token = run_tokens.mint(scope, 60)
    assert run_tokens.resolve(token) == scope
    for bad in (token[:-1], token + "x", token[:-1] + ("A" if token[-1] != "A" else "B")):
        _refused(run_tokens, bad)


# ---- the TokenStore contract, on both stores ----


@pytest.fixture(params=["memory", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[tuple[TokenStore, Any, int]]:
    """A token store, a function that moves its clock by seconds, and an environment id."""
    if request.param == "memory":
        monotonic = Monotonic()

        def tick(seconds: float) -> None:
            monotonic.now += seconds

        yield MemoryTokenStore(monotonic), tick, 1
        return
    pair: Orchestrators = request.getfixturevalue("two")

    def tick_wall(seconds: float) -> None:
        pair.clock.now += timedelta(seconds=seconds)

    yield pair.a, tick_wall, pair.env1


def test_the_store_mints_resolves_revokes_and_purges(store: tuple[TokenStore, Any, int]) -> None:
    tokens, tick, env_id = store
    one, two_, three = (hashlib.sha256(bytes([n])).digest() for n in range(3))
    tokens.mint_token(one, env_id, {"run_id": "r1", "env_id": -1}, 10)
    tokens.mint_token(two_, env_id, {"run_id": "r2"}, 100)
    tokens.mint_token(three, env_id, {"run_id": "r3"}, 5)
    assert tokens.resolve_token(one) == {"run_id": "r1", "env_id": env_id}
    assert tokens.resolve_token(hashlib.sha256(b"unknown").digest()) is None
    tokens.revoke_token(two_)
    tokens.revoke_token(two_)
    assert tokens.resolve_token(two_) is None
    tick(10)
    assert tokens.purge_expired_tokens() == 2  # ``one`` and ``three``; ``two_`` was revoked
    assert tokens.purge_expired_tokens() == 0
    assert tokens.resolve_token(one) is None
    assert tokens.resolve_token(three) is None


def _rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM run_tokens").fetchone()
    assert row is not None
    return int(row[0])


def test_the_store_revokes_the_tokens_of_a_connection_or_an_integration(
    store: tuple[TokenStore, Any, int],
) -> None:
    tokens, _, env_id = store
    other_env = env_id + 1 if isinstance(tokens, MemoryTokenStore) else None
    digests = [hashlib.sha256(bytes([n])).digest() for n in range(4)]
    scopes = [
        {"run_id": "r0", "connection_id": "acme", "integration_key": "github"},
        {"run_id": "r1", "connection_id": "globex", "integration_key": "github"},
        {"run_id": "r2", "connection_id": "initech", "integration_key": "salesforce"},
    ]
    for digest, scope in zip(digests, scopes, strict=False):
        tokens.mint_token(digest, env_id, scope, 60)
    if other_env is not None:  # the same names in another environment are another's
        tokens.mint_token(digests[3], other_env, scopes[0], 60)
    assert tokens.revoke_tokens_of(env_id, "connection_id", "acme") == 1
    assert tokens.resolve_token(digests[0]) is None
    assert tokens.resolve_token(digests[1]) is not None
    assert tokens.revoke_tokens_of(env_id, "integration_key", "github") == 1
    assert tokens.resolve_token(digests[1]) is None
    assert tokens.resolve_token(digests[2]) is not None
    assert tokens.revoke_tokens_of(env_id, "connection_id", "nobody") == 0
    if other_env is not None:
        assert tokens.resolve_token(digests[3]) is not None
    with pytest.raises(ValueError, match="not a scope field"):
        tokens.revoke_tokens_of(env_id, "run_id", "r2")


def test_a_deleted_connections_tokens_fail_on_every_orchestrator(two: Orchestrators) -> None:
    monotonic = Monotonic()
    a = RunTokens(store=two.a)
    b = RunTokens(monotonic, store=two.b)  # the default cache of a shared store
    token = a.mint(two.scope(two.env1), 60)
    other_env = a.mint(two.scope(two.env2), 60)  # the same connection id, another environment
    assert b.resolve(token).run_id == "run-1"  # B now remembers the scope
    a.revoke_connection(two.env1, "conn-1")
    _refused(a, token)  # where the connection was deleted: at once
    monotonic.now += SHARED_CACHE_SECONDS + 0.001
    _refused(b, token)  # elsewhere: once the bound has passed
    assert b.resolve(other_env).env_id == two.env2
    b.revoke_integration(two.env2, "github")
    _refused(b, other_env)  # where it was revoked, its cache is forgotten at once
