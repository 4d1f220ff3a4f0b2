"""The PostgreSQL engine's tenants: environments, their secret keys, settings and variables.

The semantics are ``_area_tenants``'s; names sort by code point (``COLLATE "C"``), as SQLite's
do, whatever the database's collation.
"""

from __future__ import annotations

from corral.errors import NotFound
from orchestrator.storage._area_tenants import TenantsArea
from orchestrator.storage._pg_base import PgConnection, PostgresBase
from orchestrator.storage._rows import Row


class TenantsMixin(PostgresBase, TenantsArea[PgConnection]):
    """Environments and their variables: ``orchestrator.storage._areas.TenantStore``."""

    def _insert_environment(self, conn: PgConnection, name: str, key_hash: str) -> Row | None:
        # Two callers creating one name at once: the unique index lets one insert, not both.
        return conn.execute(
            "INSERT INTO environments (name, secret_key_hash, settings, created_at)"
            " VALUES (%s, %s, '{}', %s) ON CONFLICT (name) DO NOTHING RETURNING *",
            (name, key_hash, self._now()),
        ).fetchone()

    def _lock_environment(self, conn: PgConnection, env_id: int) -> None:
        # The environment's row lock makes concurrent replacements take turns.
        row = conn.execute(
            "SELECT 1 FROM environments WHERE id = %s FOR NO KEY UPDATE", (env_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment")
