"""The PostgreSQL engine's integrations and connections, with credentials and metadata.

The same semantics as ``_sqlite_connections``. A read that decides a write (the metadata merge)
locks the connection's row first, so concurrent merges lose no key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral._budgets import Budgets, check_metadata
from corral.errors import AlreadyExists, InvalidRequest, NotFound
from orchestrator.storage._areas import Connection, Integration
from orchestrator.storage._pg_base import PgConnection, PostgresBase, jsonb, returned, utc

_CONNECTION_SELECT = """
SELECT c.*, i.unique_key, i.provider, i.auth_mode
FROM connections c JOIN integrations i ON i.id = c.integration_id
"""

_UPDATES = {
    "metadata": "UPDATE connections SET metadata = %s, updated_at = %s WHERE id = %s",
    "credentials": "UPDATE connections SET credentials = %s, updated_at = %s WHERE id = %s",
}


class ConnectionsMixin(PostgresBase):
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
            row = conn.execute(
                "INSERT INTO integrations (env_id, unique_key, provider, base_url, auth_mode,"
                " auth_config, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (env_id, unique_key) DO UPDATE SET provider = excluded.provider,"
                " base_url = excluded.base_url, auth_mode = excluded.auth_mode,"
                " auth_config = excluded.auth_config, updated_at = excluded.updated_at"
                " RETURNING *",
                (env_id, unique_key, provider, base_url, auth_mode, jsonb(auth_config), now, now),
            ).fetchone()
        return _integration(returned(row))

    def get_integration(self, env_id: int, unique_key: str) -> Integration:
        """An integration (NotFound ``unknown_integration``)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM integrations WHERE env_id = %s AND unique_key = %s",
                (env_id, unique_key),
            ).fetchone()
        if row is None:
            raise NotFound(f"no integration {unique_key!r}", code="unknown_integration")
        return _integration(row)

    def list_integrations(self, env_id: int) -> list[Integration]:
        """Every integration of an environment, by key."""
        with self._read() as conn:
            rows = conn.execute(
                'SELECT * FROM integrations WHERE env_id = %s ORDER BY unique_key COLLATE "C"',
                (env_id,),
            ).fetchall()
        return [_integration(row) for row in rows]

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
        now = self._now()
        with self._write() as conn:
            integration_pk = self._integration_pk(conn, env_id, integration_key)
            inserted = conn.execute(
                "INSERT INTO connections (env_id, integration_id, connection_id, credentials,"
                " connection_config, metadata, base_url, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (env_id, connection_id) DO NOTHING",
                (
                    *(env_id, integration_pk, connection_id, jsonb(credentials)),
                    *(jsonb(connection_config), jsonb(metadata), base_url, now, now),
                ),
            ).rowcount
            if inserted == 0:
                raise AlreadyExists(
                    f"connection {connection_id!r} exists", code="connection_exists"
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
                _CONNECTION_SELECT
                + " WHERE c.env_id = %(env)s AND (%(key)s::text IS NULL OR i.unique_key = %(key)s)"
                ' ORDER BY c.connection_id COLLATE "C"',
                {"env": env_id, "key": integration_key},
            ).fetchall()
        return [_connection(row) for row in rows]

    def delete_connection(self, env_id: int, connection_id: str) -> None:
        """Deletes a connection for good, with its records, checkpoints and deletion tracking.

        Runs and their logs stay: run history outlives connections.
        """
        with self._write() as conn:
            deleted = conn.execute(
                "DELETE FROM connections WHERE env_id = %s AND connection_id = %s",
                (env_id, connection_id),
            ).rowcount
        if deleted == 0:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")

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
            row = conn.execute(
                "SELECT id, metadata FROM connections WHERE env_id = %s AND connection_id = %s"
                " FOR NO KEY UPDATE",
                (env_id, connection_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
            merged: dict[str, Any] = {**row["metadata"], **patch}
            if budgets is not None:
                check_metadata(merged, budgets)
            conn.execute(_UPDATES["metadata"], (jsonb(merged), self._now(), row["id"]))
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
            pk = self._connection_pk(conn, env_id, connection_id)
            conn.execute(_UPDATES[column], (jsonb(value), self._now(), pk))

    def _get_connection(self, conn: PgConnection, env_id: int, connection_id: str) -> Connection:
        row = conn.execute(
            _CONNECTION_SELECT + " WHERE c.env_id = %s AND c.connection_id = %s",
            (env_id, connection_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        return _connection(row)


def _integration(row: Mapping[str, Any]) -> Integration:
    return Integration(
        env_id=int(row["env_id"]),
        unique_key=row["unique_key"],
        provider=row["provider"],
        base_url=row["base_url"],
        auth_mode=row["auth_mode"],
        auth_config=row["auth_config"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def _connection(row: Mapping[str, Any]) -> Connection:
    return Connection(
        env_id=int(row["env_id"]),
        connection_id=row["connection_id"],
        integration_key=row["unique_key"],
        provider=row["provider"],
        auth_mode=row["auth_mode"],
        credentials=row["credentials"],
        connection_config=row["connection_config"],
        metadata=row["metadata"],
        base_url=row["base_url"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )
