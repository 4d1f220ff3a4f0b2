"""Run tokens: scoped, expiring, revocable."""

from __future__ import annotations

import pytest

from corral.errors import Unauthenticated
from orchestrator.runs._tokens import RunScope, RunTokens

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
