"""The PostgreSQL engine's run tokens: ``TokenStore``, shared by every orchestrator.

A token minted by one orchestrator resolves on any other on the same database, and its
revocation (the row deleted) holds on all of them from the moment it commits. Only the token's
SHA-256 digest is stored. Each call is one statement on a pooled connection in autocommit (no
``BEGIN``/``COMMIT`` around it): a resolve, on every callback, is one indexed lookup by primary
key and one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import psycopg

from corral.errors import NotFound
from orchestrator.storage._pg_base import PostgresBase, jsonb
from orchestrator.storage._types import TOKEN_SCOPE_FIELDS


class TokensMixin(PostgresBase):
    """Run tokens by digest, with their scope and expiry: ``TokenStore``."""

    def mint_token(
        self, digest: bytes, env_id: int, scope: Mapping[str, Any], ttl_seconds: float
    ) -> None:
        """Stores a new token's digest with its scope, live for ``ttl_seconds``.

        Raises:
            NotFound: code ``unknown_environment``.
        """
        expires_at = self._now() + timedelta(seconds=ttl_seconds)
        stored = {**scope, "env_id": env_id}
        try:
            with self._statement() as conn:
                conn.execute(
                    "INSERT INTO run_tokens (digest, env_id, scope, expires_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (digest, env_id, jsonb(stored), expires_at),
                )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment") from exc

    def resolve_token(self, digest: bytes) -> dict[str, Any] | None:
        """The scope of a live token, or None (unknown, revoked or expired)."""
        with self._statement() as conn:
            row = conn.execute(
                "SELECT env_id, scope FROM run_tokens WHERE digest = %s AND expires_at > %s",
                (digest, self._now()),
            ).fetchone()
        if row is None:
            return None
        scope: dict[str, Any] = dict(row["scope"])
        scope["env_id"] = int(row["env_id"])  # the column is the authority, not the JSON
        return scope

    def revoke_token(self, digest: bytes) -> None:
        """Ends a token's validity on every orchestrator."""
        with self._statement() as conn:
            conn.execute("DELETE FROM run_tokens WHERE digest = %s", (digest,))

    def purge_expired_tokens(self) -> int:
        """Deletes the expired tokens; returns how many."""
        with self._statement() as conn:
            cursor = conn.execute("DELETE FROM run_tokens WHERE expires_at <= %s", (self._now(),))
            return max(cursor.rowcount, 0)

    def revoke_tokens_of(self, env_id: int, field: str, value: str) -> int:
        """Ends the validity of every token of the environment whose scope's ``field`` (one of
        ``TOKEN_SCOPE_FIELDS``) is ``value``, on every orchestrator; returns how many."""
        if field not in TOKEN_SCOPE_FIELDS:
            raise ValueError(f"not a scope field: {field!r}")
        with self._statement() as conn:
            cursor = conn.execute(
                "DELETE FROM run_tokens WHERE env_id = %s AND scope ->> %s = %s",
                (env_id, field, value),
            )
            return max(cursor.rowcount, 0)
