"""The PostgreSQL engine's deployed functions: every function of an integration, replaced at once.

The same semantics as ``_sqlite_functions``. A replacement locks the integration's row, so two
deployments of one integration at once take turns and the last one wins whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral.errors import NotFound
from orchestrator.storage._areas import FunctionRow
from orchestrator.storage._pg_base import PgConnection, PostgresBase, jsonb, utc
from orchestrator.storage._sqlite_functions import check_functions

_FUNCTION_SELECT = """
SELECT f.*, i.unique_key FROM functions f JOIN integrations i ON i.id = f.integration_id
"""


class FunctionsMixin(PostgresBase):
    """Deployed functions: ``orchestrator.storage._areas.FunctionStore``."""

    def replace_functions(
        self, env_id: int, integration_key: str, functions: Sequence[FunctionRow]
    ) -> list[FunctionRow]:
        """Replaces every function of an integration in one transaction.

        ``integration_key`` and ``deployed_at`` of the given rows are ignored.

        Returns:
            The stored functions, by name.

        Raises:
            InvalidRequest: a kind is unknown, a name is empty or given twice; nothing changes.
            NotFound: code ``unknown_integration``.
        """
        check_functions(functions)
        now = self._now()
        with self._write() as conn:
            integration_pk = self._integration_pk(conn, env_id, integration_key, lock=True)
            conn.execute("DELETE FROM functions WHERE integration_id = %s", (integration_pk,))
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO functions (integration_id, name, kind, version, description,"
                    " config, files, entry, code_hash, deployed_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [(integration_pk, *_function_values(function), now) for function in functions],
                )
            return self._functions(conn, env_id, integration_key)

    def get_function(self, env_id: int, integration_key: str, name: str) -> FunctionRow:
        """A deployed function (NotFound ``unknown_function``)."""
        with self._read() as conn:
            row = conn.execute(
                _FUNCTION_SELECT + " WHERE i.env_id = %s AND i.unique_key = %s AND f.name = %s",
                (env_id, integration_key, name),
            ).fetchone()
        if row is None:
            raise NotFound(
                f"no function {name!r} in integration {integration_key!r}", code="unknown_function"
            )
        return _function(row)

    def list_functions(self, env_id: int, integration_key: str | None = None) -> list[FunctionRow]:
        """The functions of an environment (or one integration), by integration and name."""
        with self._read() as conn:
            return self._functions(conn, env_id, integration_key)

    def _functions(
        self, conn: PgConnection, env_id: int, integration_key: str | None
    ) -> list[FunctionRow]:
        rows = conn.execute(
            _FUNCTION_SELECT
            + " WHERE i.env_id = %(env)s AND (%(key)s::text IS NULL OR i.unique_key = %(key)s)"
            ' ORDER BY i.unique_key COLLATE "C", f.name COLLATE "C"',
            {"env": env_id, "key": integration_key},
        ).fetchall()
        return [_function(row) for row in rows]


def _function_values(function: FunctionRow) -> tuple[Any, ...]:
    return (
        function.name,
        function.kind,
        function.version,
        function.description,
        jsonb(function.config),
        jsonb(function.files),
        function.entry,
        function.code_hash,
    )


def _function(row: Mapping[str, Any]) -> FunctionRow:
    return FunctionRow(
        name=row["name"],
        kind=row["kind"],
        version=row["version"],
        description=row["description"],
        config=row["config"],
        files=row["files"],
        entry=row["entry"],
        code_hash=row["code_hash"],
        integration_key=row["unique_key"],
        deployed_at=utc(row["deployed_at"]),
    )
