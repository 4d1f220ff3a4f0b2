"""The SQLite engine's deployed functions: every function of an integration, replaced at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from corral.errors import InvalidRequest, NotFound
from orchestrator.storage._areas import FUNCTION_KINDS, FunctionRow
from orchestrator.storage._records import from_rfc3339
from orchestrator.storage._sqlite_base import SqliteBase, json_object, loads

_FUNCTION_SELECT = """
SELECT f.*, i.unique_key FROM functions f JOIN integrations i ON i.id = f.integration_id
"""


class FunctionsMixin(SqliteBase):
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
            integration_pk = self._integration_pk(conn, env_id, integration_key)
            conn.execute("DELETE FROM functions WHERE integration_id = ?", (integration_pk,))
            conn.executemany(
                "INSERT INTO functions (integration_id, name, kind, version, description, config,"
                " files, entry, code_hash, deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(integration_pk, *_function_values(function), now) for function in functions],
            )
            return self._functions(conn, env_id, integration_key)

    def get_function(self, env_id: int, integration_key: str, name: str) -> FunctionRow:
        """A deployed function (NotFound ``unknown_function``)."""
        with self._read() as conn:
            row = conn.execute(
                _FUNCTION_SELECT + " WHERE i.env_id = ? AND i.unique_key = ? AND f.name = ?",
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
        self, conn: sqlite3.Connection, env_id: int, integration_key: str | None
    ) -> list[FunctionRow]:
        rows = conn.execute(
            _FUNCTION_SELECT + " WHERE i.env_id = ? AND (? IS NULL OR i.unique_key = ?)"
            " ORDER BY i.unique_key, f.name",
            (env_id, integration_key, integration_key),
        ).fetchall()
        return [_function(row) for row in rows]


def check_functions(functions: Sequence[FunctionRow]) -> None:
    names = [function.name for function in functions]
    if "" in names or len(set(names)) != len(names):
        raise InvalidRequest("function names must be non-empty and unique", code="invalid_name")
    for function in functions:
        if function.kind not in FUNCTION_KINDS:
            raise InvalidRequest(
                f"function {function.name!r} has unknown kind {function.kind!r}",
                code="invalid_kind",
            )


def _function_values(function: FunctionRow) -> tuple[Any, ...]:
    return (
        function.name,
        function.kind,
        function.version,
        function.description,
        json_object(function.config),
        json_object(function.files),
        function.entry,
        function.code_hash,
    )


def _function(row: sqlite3.Row) -> FunctionRow:
    return FunctionRow(
        name=row["name"],
        kind=row["kind"],
        version=row["version"],
        description=row["description"],
        config=loads(row["config"]),
        files=loads(row["files"]),
        entry=row["entry"],
        code_hash=row["code_hash"],
        integration_key=row["unique_key"],
        deployed_at=from_rfc3339(row["deployed_at"]),
    )
