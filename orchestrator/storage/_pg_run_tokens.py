"""The PostgreSQL engine's run tokens written by their runs' own statements (``RunTokenWrites``).

The tokens are ``_pg_tokens``'s (table ``run_tokens``), the runs ``_pg_runs``'s: a run the
caller waits for stores its token with its row's insert and revokes it with its row's finish,
each one statement (a data-modifying ``WITH``), so neither costs a round trip of its own.
SQLite keeps its tokens in memory, apart from its runs: it has no such statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol, cast

from orchestrator.storage._area_runs import FINISH_RUN, INSERT_RUN
from orchestrator.storage._pg_base import PostgresBase, jsonb
from orchestrator.storage._types import NewRun, NewToken, Run

_DIGEST_INSERTED = (
    "WITH token AS (INSERT INTO run_tokens (digest, env_id, scope, expires_at)"
    " VALUES (?, ?, ?, ?)) "
)
_DIGEST_DELETED = "WITH revoked AS (DELETE FROM run_tokens WHERE digest = ?) "


class _RunWrites(Protocol):
    """``RunsArea``'s statements, which the engine's ``RunsMixin`` brings."""

    def _create_run(
        self, env_id: int, run: NewRun, sql: str, before: Sequence[Any] = ()
    ) -> Run: ...

    def _finish_run(
        self,
        sql: str,
        before: Sequence[Any],
        run_id: str,
        *,
        ok: bool,
        output: str | None,
        error: Mapping[str, Any] | None,
    ) -> Run: ...


class RunTokenWritesMixin(PostgresBase):
    """A run's token stored by its run's insert and revoked by its finish: ``RunTokenWrites``
    (over ``RunsArea``'s statements, which the engine's ``RunsMixin`` brings)."""

    def create_run_with_token(self, env_id: int, run: NewRun, token: NewToken) -> Run:
        """``create_run``, storing ``token`` in the same statement (a data-modifying ``WITH``:
        both rows or neither)."""
        expires_at = self._now() + timedelta(seconds=token.ttl_seconds)
        stored = jsonb({**token.scope, "env_id": token.env_id})
        before = (token.digest, token.env_id, stored, expires_at)
        return cast("_RunWrites", self)._create_run(
            env_id, run, _DIGEST_INSERTED + INSERT_RUN, before
        )

    def finish_run_revoking(
        self,
        run_id: str,
        ok: bool,
        output_json: str | None,
        error: Mapping[str, Any] | None,
        digest: bytes,
    ) -> Run:
        """``finish_run``, deleting the token of ``digest`` in the same statement."""
        sql = _DIGEST_DELETED + FINISH_RUN
        return cast("_RunWrites", self)._finish_run(
            sql, (digest,), run_id, ok=ok, output=output_json, error=error
        )
