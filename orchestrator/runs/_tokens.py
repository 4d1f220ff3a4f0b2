"""Run tokens: the capability a run's callbacks carry.

A token is random, scoped to one environment, connection, function and run, and valid only
while the run is live (and never past its expiry). A callback with any other token is refused
with UNAUTHENTICATED; even code that escaped the sandbox can reach only its own run.

Tokens are kept in a ``TokenStore`` by their SHA-256 digest, never in clear: in this process's
memory by default (one SQLite orchestrator), or in the shared database (PostgreSQL), where a
token minted by one orchestrator resolves on every other and its revocation holds on all of
them. With a shared store, each orchestrator may remember a resolved scope for
``cache_seconds`` (``SHARED_CACHE_SECONDS`` by default): that bounds how long a token revoked
elsewhere still resolves here. On the orchestrator that revokes it, a token fails at once.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from corral.errors import Unauthenticated, Unavailable
from orchestrator.storage._areas import NewToken, TokenStore
from orchestrator.storage._memory_tokens import MemoryTokenStore

TOKEN_PREFIX = "rt_"  # noqa: S105 (a prefix, not a secret)
"""How every run token starts."""

MAX_TOKEN_CHARS = 128
"""Longer tokens are refused without a lookup (a minted one has 46 characters)."""

SHARED_CACHE_SECONDS = 0.5
"""How long an orchestrator remembers a scope it resolved from a shared store: a token revoked
on another orchestrator fails here at most this long (plus one lookup) after the revoke."""

CACHE_ENTRIES = 4096
"""Resolved scopes remembered at most (the oldest are forgotten first)."""

REVOKE_ATTEMPTS = 3
"""Tries to revoke a token while the store is unavailable, before leaving it to its expiry."""

PURGE_EVERY_SECONDS = 3600.0
"""How often (on a mint) expired tokens are deleted from the store."""

_log = structlog.get_logger("corral.runs")


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


@dataclass
class IssuedToken:
    """A token made for a run whose store keeps it with the run (``RunTokens.issue``): the
    token, the row its store keeps, and whether that row was revoked with the run's finish."""

    token: str
    row: NewToken
    revoked: bool = False


class RunTokens:
    """Mints, resolves and revokes run tokens (kept hashed in a ``TokenStore``)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        store: TokenStore | None = None,
        cache_seconds: float | None = None,
    ) -> None:
        """Args:
        clock: monotonic seconds; for the in-memory store's expiries and for the cache.
        store: where tokens are kept; this process's memory when None.
        cache_seconds: how long a resolved scope is remembered; 0 (no cache) with the
            in-memory store, ``SHARED_CACHE_SECONDS`` with a given store, by default.
        """
        self._clock = clock
        self._store: TokenStore = store if store is not None else MemoryTokenStore(clock)
        if cache_seconds is None:
            cache_seconds = 0.0 if store is None else SHARED_CACHE_SECONDS
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, tuple[RunScope, float]] = OrderedDict()
        self._next_purge = clock()

    def mint(self, scope: RunScope, ttl_seconds: float) -> str:
        """A new token for the run, valid until revoked or ``ttl_seconds`` pass."""
        issued = self.issue(scope, ttl_seconds)
        row = issued.row
        self._store.mint_token(row.digest, row.env_id, row.scope, row.ttl_seconds)
        return issued.token

    def issue(self, scope: RunScope, ttl_seconds: float) -> IssuedToken:
        """A new token for the run, not stored: its store stores it with the run
        (``kept_by``), and ``ended`` tells this object once the run's finish revoked it."""
        self._purge_when_due()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        fields = dict(vars(scope))  # its fields, flat: asdict's deep copy showed in profiles
        del fields["env_id"]
        return IssuedToken(token, NewToken(_digest(token), scope.env_id, fields, ttl_seconds))

    def kept_by(self, store: object) -> bool:
        """Whether ``store`` is where these tokens are kept (it may then store and revoke a
        run's token with the run: ``RunTokenWrites``)."""
        return self._store is store

    def ended(self, issued: IssuedToken) -> None:
        """The store revoked ``issued`` (with its run's finish): forgotten here too, so that it
        fails on this orchestrator at once."""
        issued.revoked = True
        with self._lock:
            self._cache.pop(issued.row.digest, None)

    def resolve(self, token: str) -> RunScope:
        """The scope of a live token.

        Raises:
            Unauthenticated: code ``invalid_run_token``, the token is malformed, unknown,
                revoked or expired.
        """
        if not _well_formed(token):
            raise _invalid()
        key = _digest(token)
        if self._cache_seconds > 0:
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None and cached[1] > self._clock():
                    return cached[0]
        stored = self._store.resolve_token(key)
        if stored is None:
            with self._lock:
                self._cache.pop(key, None)
            raise _invalid()
        scope = _scope(stored)
        if self._cache_seconds > 0:
            with self._lock:
                self._cache[key] = (scope, self._clock() + self._cache_seconds)
                self._cache.move_to_end(key)
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return scope

    def revoke(self, token: str) -> None:
        """Ends a token's validity: here at once, on every orchestrator sharing the store
        within ``cache_seconds``."""
        if not _well_formed(token):
            return
        key = _digest(token)
        with self._lock:
            self._cache.pop(key, None)
        for attempt in range(REVOKE_ATTEMPTS):
            try:
                self._store.revoke_token(key)
                return
            except Unavailable as exc:
                if attempt + 1 == REVOKE_ATTEMPTS:
                    # The run's own outcome matters more: the token still ends at its expiry.
                    _log.warning("run token not revoked; it lapses at its expiry", error=str(exc))
                    return
                time.sleep(0.1 * (attempt + 1))

    def revoke_connection(self, env_id: int, connection_id: str) -> None:
        """Ends the tokens of every run of a connection (it was deleted): here at once, on every
        orchestrator sharing the store within ``cache_seconds``. A token names its connection
        by id: a connection made later under the same id, perhaps of another integration with
        other credentials, must not be reachable with a token of the deleted one."""
        self._revoke_where(env_id, "connection_id", connection_id)

    def revoke_integration(self, env_id: int, integration_key: str) -> None:
        """Ends the tokens of every run of an integration's functions (it was deleted)."""
        self._revoke_where(env_id, "integration_key", integration_key)

    def _revoke_where(self, env_id: int, field: str, value: str) -> None:
        ended = self._store.revoke_tokens_of(env_id, field, value)
        with self._lock:  # after the store: a resolve meanwhile may have cached it again
            for key in [
                key
                for key, (scope, _) in self._cache.items()
                if scope.env_id == env_id and getattr(scope, field) == value
            ]:
                del self._cache[key]
        if ended:
            _log.info("run tokens revoked", env_id=env_id, **{field: value}, tokens=ended)

    def _purge_when_due(self) -> None:
        now = self._clock()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY_SECONDS
        try:
            purged = self._store.purge_expired_tokens()
        except Unavailable as exc:
            _log.warning("expired run tokens not purged", error=str(exc))
            return
        if purged:
            _log.info("expired run tokens purged", tokens=purged)


def _well_formed(token: str) -> bool:
    return (
        isinstance(token, str)
        and len(token) <= MAX_TOKEN_CHARS
        and token.startswith(TOKEN_PREFIX)
        and token.isascii()
    )


def _invalid() -> Unauthenticated:
    return Unauthenticated(
        "the run token is not valid (wrong, or its run has ended)", code="invalid_run_token"
    )


def _scope(stored: dict[str, Any]) -> RunScope:
    return RunScope(
        env_id=int(stored["env_id"]),
        run_id=str(stored["run_id"]),
        connection_id=str(stored["connection_id"]),
        integration_key=str(stored["integration_key"]),
        function_name=str(stored["function_name"]),
        kind=str(stored["kind"]),
        variant=str(stored["variant"]),
        depth=int(stored.get("depth", 0)),
    )


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()
