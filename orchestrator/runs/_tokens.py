"""Run tokens: the capability a run's callbacks carry.

A token is random, scoped to one environment, connection, function and run, and valid only
while the run is live (and never past its expiry). A callback with any other token is refused
with UNAUTHENTICATED; even code that escaped the sandbox can reach only its own run.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from corral.errors import Unauthenticated


@dataclass(frozen=True)
class RunScope:
    """What one run may touch."""

    env_id: int
    run_id: str
    connection_id: str
    integration_key: str
    function_name: str
    kind: str
    variant: str
    depth: int = 0


class RunTokens:
    """Mints, resolves and revokes run tokens (kept hashed, in memory)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._live: dict[bytes, tuple[RunScope, float]] = {}

    def mint(self, scope: RunScope, ttl_seconds: float) -> str:
        """A new token for the run, valid until revoked or ``ttl_seconds`` pass."""
        token = "rt_" + secrets.token_urlsafe(32)
        with self._lock:
            self._live[_digest(token)] = (scope, self._clock() + ttl_seconds)
        return token

    def resolve(self, token: str) -> RunScope:
        """The scope of a live token.

        Raises:
            Unauthenticated: the token is unknown, revoked or expired.
        """
        key = _digest(token or "")
        with self._lock:
            entry = self._live.get(key)
            if entry is not None and entry[1] <= self._clock():
                del self._live[key]
                entry = None
        if entry is None:
            raise Unauthenticated(
                "the run token is not valid (wrong, or its run has ended)", code="invalid_run_token"
            )
        return entry[0]

    def revoke(self, token: str) -> None:
        """Ends a token's validity."""
        with self._lock:
            self._live.pop(_digest(token), None)


def _digest(token: str) -> bytes:
    return hmac.new(b"corral-run-token", token.encode(), hashlib.sha256).digest()
