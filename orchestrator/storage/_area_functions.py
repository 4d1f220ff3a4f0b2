"""Deployed functions for every engine: every function of an integration, replaced at once.

``FunctionsArea`` implements ``orchestrator.storage._areas.FunctionStore`` once, in SQL both
engines speak. A replacement locks the integration's row where the engine locks rows, so two
deployments of one integration at once take turns and the last one wins whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corral.errors import InvalidRequest, NotFound
from orchestrator._text_values import holds_nul, names_hold_nul
from orchestrator.storage._engine import C, EngineBase
from orchestrator.storage._rows import Row
from orchestrator.storage._rows import function as function_row
from orchestrator.storage._types import FUNCTION_KINDS, FunctionRow

_FUNCTION_SELECT = """
SELECT f.*, i.unique_key FROM functions f JOIN integrations i ON i.id = f.integration_id
"""
# A connection's integration and its function of a name, if any (f.* all NULL when none).
_CONNECTION_FUNCTION = """
SELECT f.*, i.unique_key, i.provider AS integration_provider
FROM connections c JOIN integrations i ON i.id = c.integration_id
LEFT JOIN functions f ON f.integration_id = i.id AND f.name = ?
WHERE c.env_id = ? AND c.connection_id = ?
"""


def check_functions(functions: Sequence[FunctionRow]) -> None:
    """Raises InvalidRequest (``invalid_name``, ``invalid_kind``, ``invalid_deploy``) for a
    deployment to refuse."""
    names = [function.name for function in functions]
    if "" in names or len(set(names)) != len(names) or names_hold_nul(*names):
        raise InvalidRequest(
            "function names must be non-empty, unique and without NUL", code="invalid_name"
        )
    for function in functions:
        stored = (function.version, function.description, function.entry, function.config)
        if holds_nul([*stored, function.files]):
            raise InvalidRequest(
                f"function {function.name!r} holds the character U+0000 (NUL) in its files,"
                " definition or configuration, which cannot be stored",
                code="invalid_deploy",
            )
        if function.kind not in FUNCTION_KINDS:
            raise InvalidRequest(
                f"function {function.name!r} has unknown kind {function.kind!r}",
                code="invalid_kind",
            )


class FunctionsArea(EngineBase[C]):
    """Deployed functions: ``orchestrator.storage._areas.FunctionStore``."""

    def replace_functions(
        self,
        env_id: int,
        integration_key: str,
        functions: Sequence[FunctionRow],
        *,
        refuse_removals: bool = False,
        allow_removing: Sequence[str] = (),
    ) -> list[FunctionRow]:
        """Replaces every function of an integration in one transaction.

        ``integration_key`` and ``deployed_at`` of the given rows are ignored.
        ``refuse_removals``: refuse, changing nothing, when a deployed function is neither among
        ``functions`` nor in ``allow_removing`` (decided in the transaction that would replace
        them).

        Returns:
            The stored functions, by name.

        Raises:
            InvalidRequest: a kind is unknown, a name is empty or given twice; or code
                ``deploy_removes_functions`` (details ``removed``: the names, sorted); nothing
                changes.
            NotFound: code ``unknown_integration``.
        """
        check_functions(functions)
        now = self._now()
        with self._write() as conn:
            # Where the engine locks rows, two deployments of one integration take turns on
            # its row, so the last one wins whole.
            integration_pk = self._integration_pk(conn, env_id, integration_key, lock=True)
            if refuse_removals:
                deployed = self._fetch_all(conn, _NAMES, (integration_pk,))
                _refuse_removals(deployed, functions, allow_removing)
            self._exec(conn, "DELETE FROM functions WHERE integration_id = ?", (integration_pk,))
            self._exec_many(
                conn,
                "INSERT INTO functions (integration_id, name, kind, version, description, config,"
                " files, entry, code_hash, deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(integration_pk, *self._function_values(function), now) for function in functions],
            )
            return self._functions(conn, env_id, integration_key)

    def get_function(self, env_id: int, integration_key: str, name: str) -> FunctionRow:
        """A deployed function (NotFound ``unknown_function``)."""
        row = (
            None
            if names_hold_nul(integration_key, name)
            else self._read_one(
                _FUNCTION_SELECT + " WHERE i.env_id = ? AND i.unique_key = ? AND f.name = ?",
                (env_id, integration_key, name),
            )
        )
        if row is None:
            raise NotFound(
                f"no function {name!r} in integration {integration_key!r}", code="unknown_function"
            )
        return function_row(row, self._codec)

    def get_connection_function(
        self, env_id: int, connection_id: str, name: str
    ) -> tuple[FunctionRow, str]:
        """The function ``name`` of a connection's integration and the integration's provider,
        in one statement (a run's start reads both).

        Raises:
            NotFound: ``unknown_connection``, or ``unknown_function`` as ``get_function``.
        """
        # A name holding NUL is none stored: looked up as "", which no function has
        # (``check_functions``), so that the answer is the unknown function's.
        looked_up = "" if names_hold_nul(name) else name
        row = (
            None
            if names_hold_nul(connection_id)
            else self._read_one(_CONNECTION_FUNCTION, (looked_up, env_id, connection_id))
        )
        if row is None:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        if row["name"] is None:
            raise NotFound(
                f"no function {name!r} in integration {row['unique_key']!r}",
                code="unknown_function",
            )
        return function_row(row, self._codec), str(row["integration_provider"])

    def list_functions(self, env_id: int, integration_key: str | None = None) -> list[FunctionRow]:
        """The functions of an environment (or one integration), by integration and name."""
        if names_hold_nul(integration_key):
            return []
        with self._read() as conn:
            return self._functions(conn, env_id, integration_key)

    def _functions(self, conn: C, env_id: int, integration_key: str | None) -> list[FunctionRow]:
        where = " WHERE i.env_id = ? AND (CAST(? AS TEXT) IS NULL OR i.unique_key = ?)"
        order = f" ORDER BY i.unique_key{self._by_code_point}, f.name{self._by_code_point}"
        rows = self._fetch_all(
            conn, _FUNCTION_SELECT + where + order, (env_id, integration_key, integration_key)
        )
        return [function_row(row, self._codec) for row in rows]

    def _function_values(self, function: FunctionRow) -> tuple[Any, ...]:
        return (
            function.name,
            function.kind,
            function.version,
            function.description,
            self._json_in(function.config),
            self._json_in(function.files),
            function.entry,
            function.code_hash,
        )


_NAMES = "SELECT name FROM functions WHERE integration_id = ?"


def _refuse_removals(
    deployed: Sequence[Row], functions: Sequence[FunctionRow], allowed: Sequence[str]
) -> None:
    removed = sorted({str(row["name"]) for row in deployed} - {f.name for f in functions})
    if set(removed) - set(allowed):
        raise InvalidRequest(
            f"the deploy would remove {len(removed)} deployed function(s): {', '.join(removed)}",
            code="deploy_removes_functions",
            details={"removed": removed},
        )
