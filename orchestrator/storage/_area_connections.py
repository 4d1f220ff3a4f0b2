"""Integrations and connections for every engine, with credentials and metadata.

``ConnectionsArea`` implements ``orchestrator.storage._areas.ConnectionStore`` once, in SQL both
engines speak. A read that decides a write (the metadata merge) locks the connection's row where
the engine locks rows (``EngineBase._locking``), so concurrent merges lose no key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from corral._budgets import Budgets, check_metadata
from corral.errors import AlreadyExists, InvalidRequest, NotFound
from orchestrator._text_values import names_hold_nul, refuse_nul
from orchestrator.storage._engine import C
from orchestrator.storage._rows import Row, connection, integration, returned
from orchestrator.storage._sealing import AUTH_CONFIG, CREDENTIALS, SealingBase
from orchestrator.storage._types import Connection, Integration
from orchestrator.storage._webhook_inbox import WebhookInbox

_CONNECTION_SELECT = """
SELECT c.*, i.unique_key, i.provider, i.auth_mode
FROM connections c JOIN integrations i ON i.id = c.integration_id
"""
_CONNECTION_BY_ID = _CONNECTION_SELECT + " WHERE c.env_id = ? AND c.connection_id = ?"
_METADATA_BY_ID = "SELECT metadata FROM connections WHERE env_id = ? AND connection_id = ?"
_FUNCTION_OF_CONNECTION = (
    "SELECT 1 FROM connections c JOIN integrations i ON i.id = c.integration_id"
    " JOIN functions f ON f.integration_id = i.id"
    " WHERE c.env_id = ? AND c.connection_id = ? AND i.unique_key = ? AND f.name = ?"
)
_INTEGRATION_SELECT = "SELECT * FROM integrations WHERE env_id = ? AND unique_key = ?"
_UPDATES = {
    "metadata": "UPDATE connections SET metadata = ?, updated_at = ? WHERE id = ?",
    "credentials": "UPDATE connections SET credentials = ?, updated_at = ? WHERE id = ?",
}


class ConnectionsArea(SealingBase[C], WebhookInbox[C]):
    """Integrations and their connections: ``orchestrator.storage._areas.ConnectionStore``.

    Credentials and auth configs are secrets: sealed when the store has a key
    (``_sealing``).
    """

    # ---- integrations ----

    def upsert_integration(
        self,
        env_id: int,
        unique_key: str,
        *,
        provider: str,
        base_url: str,
        auth_mode: str,
        auth_config: Mapping[str, Any],
    ) -> Integration:
        """Creates an integration, or replaces the fields of the one with this key."""
        if not unique_key:
            raise InvalidRequest("an integration needs a unique key", code="invalid_name")
        _refuse_nul_names(("unique_key", unique_key), ("provider", provider))
        refuse_nul(auth_config, what="auth_config", code="invalid_auth_config")
        now = self._now()
        with self._write() as conn:
            self._require_environment(conn, env_id)
            row = self._fetch_one(
                conn,
                "INSERT INTO integrations (env_id, unique_key, provider, base_url, auth_mode,"
                " auth_config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (env_id, unique_key) DO UPDATE SET provider = excluded.provider,"
                " base_url = excluded.base_url, auth_mode = excluded.auth_mode,"
                " auth_config = excluded.auth_config, updated_at = excluded.updated_at"
                " RETURNING *",
                (
                    *(env_id, unique_key, provider, base_url, auth_mode),
                    *(self._seal_json(env_id, AUTH_CONFIG, unique_key, auth_config), now, now),
                ),
            )
        return self._integration_of(returned(row))

    def get_integration(self, env_id: int, unique_key: str) -> Integration:
        """An integration (NotFound ``unknown_integration``)."""
        return self._found_integration(
            None
            if names_hold_nul(unique_key)
            else self._read_one(_INTEGRATION_SELECT, (env_id, unique_key)),
            unique_key,
        )

    def list_integrations(self, env_id: int) -> list[Integration]:
        """Every integration of an environment, by key."""
        with self._read() as conn:
            order = f" ORDER BY unique_key{self._by_code_point}"
            # S608: the collation is a constant of the engine, not input.
            select = "SELECT * FROM integrations WHERE env_id = ?" + order  # noqa: S608
            rows = self._fetch_all(conn, select, (env_id,))
        return [self._integration_of(row) for row in rows]

    def _get_integration(self, conn: C, env_id: int, key: str) -> Integration:
        if names_hold_nul(key):
            return self._found_integration(None, key)
        return self._found_integration(
            self._fetch_one(conn, _INTEGRATION_SELECT, (env_id, key)), key
        )

    def _found_integration(self, row: Row | None, key: str) -> Integration:
        if row is None:
            raise NotFound(f"no integration {key!r}", code="unknown_integration")
        return self._integration_of(row)

    def _integration_of(self, row: Row) -> Integration:
        found = integration(row, self._codec)
        config = self._open_json(found.env_id, AUTH_CONFIG, found.unique_key, found.auth_config)
        return replace(found, auth_config=config)

    def _connection_of(self, row: Row) -> Connection:
        found = connection(row, self._codec)
        opened = self._open_json(found.env_id, CREDENTIALS, found.connection_id, found.credentials)
        return replace(found, credentials=opened)

    # ---- connections ----

    def create_connection(
        self,
        env_id: int,
        integration_key: str,
        connection_id: str,
        *,
        credentials: Mapping[str, Any],
        connection_config: Mapping[str, Any],
        metadata: Mapping[str, Any],
        base_url: str = "",
    ) -> Connection:
        """Creates a connection; its id is unique in the environment.

        Raises:
            InvalidRequest: the connection id is empty.
            NotFound: code ``unknown_integration``.
            AlreadyExists: code ``connection_exists`` (also when another caller creates the
                same id at the same moment).
        """
        if not connection_id:
            raise InvalidRequest("a connection needs an id", code="invalid_name")
        _refuse_nul_names(("connection_id", connection_id))
        refuse_nul(credentials, what="credentials", code="invalid_credentials")
        refuse_nul(connection_config, what="connection_config", code="invalid_connection_config")
        refuse_nul(metadata, what="metadata", code="invalid_metadata")
        now = self._now()
        with self._write() as conn:
            integration_pk = self._integration_pk(conn, env_id, integration_key)
            inserted = self._exec(
                conn,
                "INSERT INTO connections (env_id, integration_id, connection_id, credentials,"
                " connection_config, metadata, base_url, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (env_id, connection_id) DO NOTHING",
                (
                    *(env_id, integration_pk, connection_id),
                    self._seal_json(env_id, CREDENTIALS, connection_id, credentials),
                    *(self._json_in(connection_config), self._json_in(metadata)),
                    *(base_url, now, now),
                ),
            )
            if inserted == 0:
                raise AlreadyExists(
                    f"connection {connection_id!r} exists", code="connection_exists"
                )
            return self._get_connection(conn, env_id, connection_id)

    def get_connection(self, env_id: int, connection_id: str) -> Connection:
        """A connection with its credentials (NotFound ``unknown_connection``)."""
        return self._found_connection(
            None
            if names_hold_nul(connection_id)
            else self._read_one(_CONNECTION_BY_ID, (env_id, connection_id)),
            connection_id,
        )

    def get_metadata(self, env_id: int, connection_id: str) -> dict[str, Any]:
        """A connection's metadata, in one statement, its credentials neither read nor opened
        (a run's ``get_metadata`` needs nothing else, and works when they cannot be opened).

        Raises:
            NotFound: code ``unknown_connection``.
        """
        row = (
            None
            if names_hold_nul(connection_id)
            else self._read_one(_METADATA_BY_ID, (env_id, connection_id))
        )
        if row is None:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        return dict(self._codec.json(row["metadata"]))

    def holds_function(
        self, env_id: int, connection_id: str, integration_key: str, function_name: str
    ) -> bool:
        """Whether the connection ``connection_id`` is of the integration ``integration_key``
        and that integration has a function ``function_name``, in one statement, credentials
        neither read nor opened (a run's dispatch checks that what it runs still is)."""
        names = (connection_id, integration_key, function_name)
        if names_hold_nul(*names):
            return False  # no stored name holds one
        return self._read_one(_FUNCTION_OF_CONNECTION, (env_id, *names)) is not None

    def list_connections(self, env_id: int, integration_key: str | None = None) -> list[Connection]:
        """The connections of an environment (or of one integration), by connection id."""
        if names_hold_nul(integration_key):
            return []
        with self._read() as conn:
            where = " WHERE c.env_id = ? AND (CAST(? AS TEXT) IS NULL OR i.unique_key = ?)"
            order = f" ORDER BY c.connection_id{self._by_code_point}"
            rows = self._fetch_all(
                conn, _CONNECTION_SELECT + where + order, (env_id, integration_key, integration_key)
            )
        return [self._connection_of(row) for row in rows]

    def delete_integration(self, env_id: int, unique_key: str) -> None:
        """Deletes an integration for good, with its functions and every connection it still
        has (and so their records, checkpoints, deletion tracking and sync schedules: the
        tables' ``ON DELETE CASCADE``). Runs and their logs stay, as for a connection.

        Raises:
            NotFound: code ``unknown_integration``.
        """
        self._delete_one(
            "DELETE FROM integrations WHERE env_id = ? AND unique_key = ?",
            (env_id, unique_key),
            NotFound(f"no integration {unique_key!r}", code="unknown_integration"),
        )

    def delete_connection(self, env_id: int, connection_id: str) -> None:
        """Deletes a connection for good, with its metadata, records, checkpoints, deletion
        tracking and sync schedules (the tables' ``ON DELETE CASCADE``), so a new connection with
        the same id starts empty.

        Runs and their logs stay (until retention): run history outlives connections.
        """
        self._delete_one(
            "DELETE FROM connections WHERE env_id = ? AND connection_id = ?",
            (env_id, connection_id),
            NotFound(f"no connection {connection_id!r}", code="unknown_connection"),
        )

    def _delete_one(self, sql: str, params: tuple[object, ...], missing: NotFound) -> None:
        """Runs a DELETE of one row; ``missing`` is raised when it deleted none."""
        if names_hold_nul(*(p for p in params if isinstance(p, str))):
            raise missing
        with self._write() as conn:
            if self._exec(conn, sql, params) == 0:
                raise missing

    def set_metadata(
        self,
        env_id: int,
        connection_id: str,
        metadata: Mapping[str, Any],
        budgets: Budgets | None = None,
    ) -> None:
        """Replaces a connection's metadata.

        Raises:
            ResourceExhausted: ``metadata_bytes``, when above the budget (nothing changes).
        """
        refuse_nul(metadata, what="metadata", code="invalid_metadata")
        if budgets is not None:
            check_metadata(metadata, budgets)
        self._set_connection_field(env_id, connection_id, "metadata", metadata)

    def update_metadata(
        self,
        env_id: int,
        connection_id: str,
        patch: Mapping[str, Any],
        budgets: Budgets | None = None,
    ) -> dict[str, Any]:
        """Merges ``patch`` into the connection's metadata at the top level.

        Returns:
            The metadata after the merge.

        Raises:
            ResourceExhausted: ``metadata_bytes``, when the merge is above the budget (nothing
                changes).
        """
        refuse_nul(patch, what="metadata", code="invalid_metadata")
        if names_hold_nul(connection_id):
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        with self._write() as conn:
            # Where the engine locks rows, the connection's lock makes merges take turns.
            row = self._fetch_one(
                conn,
                self._locking(
                    "SELECT id, metadata FROM connections WHERE env_id = ? AND connection_id = ?"
                ),
                (env_id, connection_id),
            )
            if row is None:
                raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
            merged: dict[str, Any] = {**self._codec.json(row["metadata"]), **patch}
            if budgets is not None:
                check_metadata(merged, budgets)
            self._exec(conn, _UPDATES["metadata"], (self._json_in(merged), self._now(), row["id"]))
        return merged

    def update_credentials(
        self, env_id: int, connection_id: str, credentials: Mapping[str, Any]
    ) -> None:
        """Replaces a connection's credentials (after an OAuth refresh)."""
        refuse_nul(credentials, what="credentials", code="invalid_credentials")
        self._set_connection_field(env_id, connection_id, "credentials", credentials)

    def _set_connection_field(
        self, env_id: int, connection_id: str, column: str, value: Mapping[str, Any]
    ) -> None:
        with self._write() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            bound = (
                self._seal_json(env_id, CREDENTIALS, connection_id, value)
                if column == "credentials"
                else self._json_in(value)
            )
            self._exec(conn, _UPDATES[column], (bound, self._now(), pk))

    def _get_connection(self, conn: C, env_id: int, connection_id: str) -> Connection:
        if names_hold_nul(connection_id):
            return self._found_connection(None, connection_id)
        row = self._fetch_one(conn, _CONNECTION_BY_ID, (env_id, connection_id))
        return self._found_connection(row, connection_id)

    def _found_connection(self, row: Row | None, connection_id: str) -> Connection:
        if row is None:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        return self._connection_of(row)


def _refuse_nul_names(*names: tuple[str, str]) -> None:
    """Refuses a name to store that holds a NUL (``invalid_name``): no engine could look it up
    as it was given (``orchestrator._text_values``)."""
    for what, value in names:
        if names_hold_nul(value):
            raise InvalidRequest(
                f"{what} {value!r} holds the character U+0000 (NUL)", code="invalid_name"
            )
