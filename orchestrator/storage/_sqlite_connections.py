"""The SQLite engine's integrations and connections, with credentials and metadata."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from corral._budgets import Budgets, check_metadata
from corral.errors import AlreadyExists, InvalidRequest, NotFound
from orchestrator.storage._areas import Connection, Integration
from orchestrator.storage._records import from_rfc3339
from orchestrator.storage._sqlite_base import SqliteBase, json_object, loads

_CONNECTION_SELECT = """
SELECT c.*, i.unique_key, i.provider, i.auth_mode
FROM connections c JOIN integrations i ON i.id = c.integration_id
"""


class ConnectionsMixin(SqliteBase):
    """Integrations and their connections: ``orchestrator.storage._areas.ConnectionStore``."""

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
        now = self._now()
        with self._write() as conn:
            self._require_environment(conn, env_id)
            conn.execute(
                "INSERT INTO integrations (env_id, unique_key, provider, base_url, auth_mode,"
                " auth_config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (env_id, unique_key) DO UPDATE SET provider = excluded.provider,"
                " base_url = excluded.base_url, auth_mode = excluded.auth_mode,"
                " auth_config = excluded.auth_config, updated_at = excluded.updated_at",
                (
                    env_id,
                    unique_key,
                    provider,
                    base_url,
                    auth_mode,
                    json_object(auth_config),
                    now,
                    now,
                ),
            )
            return self._get_integration(conn, env_id, unique_key)

    def get_integration(self, env_id: int, unique_key: str) -> Integration:
        """An integration (NotFound ``unknown_integration``)."""
        with self._read() as conn:
            return self._get_integration(conn, env_id, unique_key)

    def list_integrations(self, env_id: int) -> list[Integration]:
        """Every integration of an environment, by key."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM integrations WHERE env_id = ? ORDER BY unique_key", (env_id,)
            ).fetchall()
        return [_integration(row) for row in rows]

    def _get_integration(self, conn: sqlite3.Connection, env_id: int, key: str) -> Integration:
        row = conn.execute(
            "SELECT * FROM integrations WHERE env_id = ? AND unique_key = ?", (env_id, key)
        ).fetchone()
        if row is None:
            raise NotFound(f"no integration {key!r}", code="unknown_integration")
        return _integration(row)

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
            AlreadyExists: code ``connection_exists``.
        """
        if not connection_id:
            raise InvalidRequest("a connection needs an id", code="invalid_name")
        now = self._now()
        with self._write() as conn:
            integration_pk = self._integration_pk(conn, env_id, integration_key)
            if self._find_connection(conn, env_id, connection_id) is not None:
                raise AlreadyExists(
                    f"connection {connection_id!r} exists", code="connection_exists"
                )
            conn.execute(
                "INSERT INTO connections (env_id, integration_id, connection_id, credentials,"
                " connection_config, metadata, base_url, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *(env_id, integration_pk, connection_id, json_object(credentials)),
                    *(json_object(connection_config), json_object(metadata), base_url, now, now),
                ),
            )
            return self._get_connection(conn, env_id, connection_id)

    def get_connection(self, env_id: int, connection_id: str) -> Connection:
        """A connection with its credentials (NotFound ``unknown_connection``)."""
        with self._read() as conn:
            return self._get_connection(conn, env_id, connection_id)

    def list_connections(self, env_id: int, integration_key: str | None = None) -> list[Connection]:
        """The connections of an environment (or of one integration), by connection id."""
        with self._read() as conn:
            rows = conn.execute(
                _CONNECTION_SELECT + " WHERE c.env_id = ? AND (? IS NULL OR i.unique_key = ?)"
                " ORDER BY c.connection_id",
                (env_id, integration_key, integration_key),
            ).fetchall()
        return [_connection(row) for row in rows]

    def delete_connection(self, env_id: int, connection_id: str) -> None:
        """Deletes a connection for good, with its metadata, records, checkpoints, deletion
        tracking and sync schedules (the tables' ``ON DELETE CASCADE``), so a new connection with
        the same id starts empty.

        Runs and their logs stay (until retention): run history outlives connections.
        """
        with self._write() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            conn.execute("DELETE FROM connections WHERE id = ?", (pk,))

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
        with self._write() as conn:
            current = self._get_connection(conn, env_id, connection_id).metadata
            merged = {**current, **patch}
            if budgets is not None:
                check_metadata(merged, budgets)
            self._update_connection(conn, env_id, connection_id, "metadata", merged)
        return merged

    def update_credentials(
        self, env_id: int, connection_id: str, credentials: Mapping[str, Any]
    ) -> None:
        """Replaces a connection's credentials (after an OAuth refresh)."""
        self._set_connection_field(env_id, connection_id, "credentials", credentials)

    def _set_connection_field(
        self, env_id: int, connection_id: str, column: str, value: Mapping[str, Any]
    ) -> None:
        with self._write() as conn:
            self._update_connection(conn, env_id, connection_id, column, value)

    def _update_connection(
        self,
        conn: sqlite3.Connection,
        env_id: int,
        connection_id: str,
        column: str,
        value: Mapping[str, Any],
    ) -> None:
        pk = self._connection_pk(conn, env_id, connection_id)
        statement = {
            "metadata": "UPDATE connections SET metadata = ?, updated_at = ? WHERE id = ?",
            "credentials": "UPDATE connections SET credentials = ?, updated_at = ? WHERE id = ?",
        }[column]
        conn.execute(statement, (json_object(value), self._now(), pk))

    def _find_connection(
        self, conn: sqlite3.Connection, env_id: int, connection_id: str
    ) -> Connection | None:
        row = conn.execute(
            _CONNECTION_SELECT + " WHERE c.env_id = ? AND c.connection_id = ?",
            (env_id, connection_id),
        ).fetchone()
        return None if row is None else _connection(row)

    def _get_connection(
        self, conn: sqlite3.Connection, env_id: int, connection_id: str
    ) -> Connection:
        found = self._find_connection(conn, env_id, connection_id)
        if found is None:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        return found


def _integration(row: sqlite3.Row) -> Integration:
    return Integration(
        env_id=int(row["env_id"]),
        unique_key=row["unique_key"],
        provider=row["provider"],
        base_url=row["base_url"],
        auth_mode=row["auth_mode"],
        auth_config=loads(row["auth_config"]),
        created_at=from_rfc3339(row["created_at"]),
        updated_at=from_rfc3339(row["updated_at"]),
    )


def _connection(row: sqlite3.Row) -> Connection:
    return Connection(
        env_id=int(row["env_id"]),
        connection_id=row["connection_id"],
        integration_key=row["unique_key"],
        provider=row["provider"],
        auth_mode=row["auth_mode"],
        credentials=loads(row["credentials"]),
        connection_config=loads(row["connection_config"]),
        metadata=loads(row["metadata"]),
        base_url=row["base_url"],
        created_at=from_rfc3339(row["created_at"]),
        updated_at=from_rfc3339(row["updated_at"]),
    )
