"""Run tokens in one process's memory: ``TokenStore`` for a single orchestrator (SQLite).

One SQLite orchestrator is the only one that receives its runs' callbacks, and its tokens must
not outlive it anyway (its runs end with it), so memory is enough there: no write to the
database file on every run's start and end, and a lookup is a dict access.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.storage._types import TOKEN_SCOPE_FIELDS


class MemoryTokenStore:
    """Token digests, scopes and expiries in a dict (thread-safe): ``TokenStore``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Args: clock: seconds, monotonic (``time.monotonic`` by default)."""
        self._clock = clock
        self._lock = threading.Lock()
        self._live: dict[bytes, tuple[dict[str, Any], float]] = {}

    def mint_token(
        self, digest: bytes, env_id: int, scope: Mapping[str, Any], ttl_seconds: float
    ) -> None:
        """Stores a new token's digest with its scope, live for ``ttl_seconds``."""
        stored = {**scope, "env_id": env_id}
        with self._lock:
            self._live[digest] = (stored, self._clock() + ttl_seconds)

    def resolve_token(self, digest: bytes) -> dict[str, Any] | None:
        """The scope of a live token, or None (unknown, revoked or expired)."""
        with self._lock:
            entry = self._live.get(digest)
            if entry is None:
                return None
            if entry[1] <= self._clock():
                del self._live[digest]
                return None
            return dict(entry[0])

    def revoke_token(self, digest: bytes) -> None:
        """Ends a token's validity."""
        with self._lock:
            self._live.pop(digest, None)

    def purge_expired_tokens(self) -> int:
        """Deletes the expired tokens; returns how many."""
        now = self._clock()
        with self._lock:
            expired = [digest for digest, (_, until) in self._live.items() if until <= now]
            for digest in expired:
                del self._live[digest]
        return len(expired)

    def revoke_tokens_of(self, env_id: int, field: str, value: str) -> int:
        """Ends the validity of every token of the environment whose scope's ``field`` is
        ``value`` (``field``: one of ``TOKEN_SCOPE_FIELDS``); returns how many."""
        if field not in TOKEN_SCOPE_FIELDS:
            raise ValueError(f"not a scope field: {field!r}")
        with self._lock:
            ended = [
                digest
                for digest, (scope, _) in self._live.items()
                if scope.get("env_id") == env_id and scope.get(field) == value
            ]
            for digest in ended:
                del self._live[digest]
        return len(ended)
