"""The SQLite engine's tenants: environments, their secret keys, settings and variables.

The semantics are ``_area_tenants``'s; SQLite has one writer at a time, so a name is checked
and inserted in one write transaction.
"""

from __future__ import annotations

import sqlite3

from orchestrator.storage._area_tenants import SECRET_KEY_PREFIX, TenantsArea, hash_secret_key
from orchestrator.storage._rows import Row
from orchestrator.storage._sqlite_base import SqliteBase

__all__ = ["SECRET_KEY_PREFIX", "TenantsMixin", "hash_secret_key"]


class TenantsMixin(SqliteBase, TenantsArea[sqlite3.Connection]):
    """Environments and their variables: ``orchestrator.storage._areas.TenantStore``."""

    def _insert_environment(self, conn: sqlite3.Connection, name: str, key_hash: str) -> Row | None:
        if conn.execute("SELECT 1 FROM environments WHERE name = ?", (name,)).fetchone():
            return None
        conn.execute(
            "INSERT INTO environments (name, secret_key_hash, settings, created_at)"
            " VALUES (?, ?, '{}', ?)",
            (name, key_hash, self._now()),
        )
        return self._fetch_one(conn, "SELECT * FROM environments WHERE name = ?", (name,))

    def _lock_environment(self, conn: sqlite3.Connection, env_id: int) -> None:
        self._require_environment(conn, env_id)  # the write transaction is the one writer
