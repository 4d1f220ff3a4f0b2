"""Run tokens: scoped, expiring, revocable."""

from __future__ import annotations

import hashlib

import pytest

from corral.errors import Unauthenticated, Unavailable
from orchestrator.runs._tokens import PURGE_EVERY_SECONDS, REVOKE_ATTEMPTS, RunScope, RunTokens
from orchestrator.storage._memory_tokens import MemoryTokenStore

SCOPE = RunScope(env_id=1, run_id="r1", connection_id="c1", integration_key="i",
                 function_name="f", kind="sync", variant="base")  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_minted_token_resolves_to_its_scope() -> None:
    tokens = RunTokens()
    assert tokens.resolve(tokens.mint(SCOPE, 60)) == SCOPE


def test_wrong_revoked_and_expired_tokens_are_refused() -> None:
    clock = Clock()
    tokens = RunTokens(clock)
    token = tokens.mint(SCOPE, 10)
    for bad in ("", "rt_forged", token + "x"):
        with pytest.raises(Unauthenticated) as caught:
            tokens.resolve(bad)
        assert caught.value.code == "invalid_run_token"
    clock.now += 11
    with pytest.raises(Unauthenticated):
        tokens.resolve(token)
    other = tokens.mint(SCOPE, 10)
    tokens.revoke(other)
    with pytest.raises(Unauthenticated):
        tokens.resolve(other)


def test_tokens_are_unique_and_unguessable() -> None:
    tokens = RunTokens()
    minted = {tokens.mint(SCOPE, 60) for _ in range(100)}
    assert len(minted) == 100
    assert all(len(t) > 40 for t in minted)


class CountingStore(MemoryTokenStore):
    """The in-memory store, counting purges, and failing revokes while ``down``."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.purges = 0
        self.revokes = 0
        self.down = False

    def purge_expired_tokens(self) -> int:
        self.purges += 1
        return super().purge_expired_tokens()

    def revoke_token(self, digest: bytes) -> None:
        self.revokes += 1
        if self.down:
            raise Unavailable("down", code="storage_unavailable", retryable=True)
        super().revoke_token(digest)


def test_expired_tokens_are_purged_from_the_store_once_an_hour_on_a_mint() -> None:
    clock = Clock()
    store = CountingStore(clock)
    tokens = RunTokens(clock, store=store)
    expired = tokens.mint(SCOPE, 10)
    assert store.purges == 1
    clock.now += 11
    tokens.mint(SCOPE, 10)
    assert store.purges == 1
    clock.now += PURGE_EVERY_SECONDS
    tokens.mint(SCOPE, 10)
    assert store.purges == 2
    assert store.resolve_token(hashlib.sha256(expired.encode()).digest()) is None


def test_a_revoke_the_store_cannot_take_is_retried_then_left_to_the_expiry() -> None:
    clock = Clock()
    store = CountingStore(clock)
    tokens = RunTokens(clock, store=store, cache_seconds=60)
    token = tokens.mint(SCOPE, 10)
    assert tokens.resolve(token) == SCOPE
    store.down = True
    tokens.revoke(token)  # does not raise: the run's outcome is what its caller waits for
    assert store.revokes == REVOKE_ATTEMPTS
    clock.now += 11
    with pytest.raises(Unauthenticated):
        tokens.resolve(token)  # the token lapsed at its expiry
