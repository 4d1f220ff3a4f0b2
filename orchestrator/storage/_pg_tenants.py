"""The PostgreSQL engine's tenants: environments, their secret keys, settings and variables.

The same semantics as ``_sqlite_tenants``; names sort by code point (``COLLATE "C"``), as
SQLite's do, whatever the database's collation.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from corral.errors import AlreadyExists, InvalidRequest, NotFound, Unauthenticated
from orchestrator.storage._areas import Environment
from orchestrator.storage._pg_base import PostgresBase, jsonb, utc
from orchestrator.storage._sqlite_tenants import SECRET_KEY_PREFIX, hash_secret_key


class TenantsMixin(PostgresBase):
    """Environments and their variables: ``orchestrator.storage._areas.TenantStore``."""

    # ---- environments ----

    def create_environment(self, name: str) -> tuple[Environment, str]:
        """Creates an environment.

        Returns:
            The environment and its secret key. Only a hash of the key is stored, so this is
            the one time it can be shown.

        Raises:
            InvalidRequest: the name is empty.
            AlreadyExists: code ``environment_exists`` (also when another caller creates the
                same name at the same moment).
        """
        if not name:
            raise InvalidRequest("an environment needs a name", code="invalid_name")
        secret_key = SECRET_KEY_PREFIX + secrets.token_urlsafe(32)
        with self._write() as conn:
            row = conn.execute(
                "INSERT INTO environments (name, secret_key_hash, settings, created_at)"
                " VALUES (%s, %s, '{}', %s) ON CONFLICT (name) DO NOTHING RETURNING *",
                (name, hash_secret_key(secret_key), self._now()),
            ).fetchone()
        if row is None:
            raise AlreadyExists(f"environment {name!r} exists", code="environment_exists")
        return _environment(row), secret_key

    def environment_by_secret_key(self, secret_key: str) -> Environment:
        """The environment of a secret key (looked up by its hash).

        Raises:
            Unauthenticated: no environment has this key.
        """
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM environments WHERE secret_key_hash = %s",
                (hash_secret_key(secret_key),),
            ).fetchone()
        if row is None:
            raise Unauthenticated("unknown secret key", code="invalid_secret_key")
        return _environment(row)

    def get_environment(self, name: str) -> Environment:
        """An environment by name (NotFound ``unknown_environment``)."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM environments WHERE name = %s", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no environment {name!r}", code="unknown_environment")
        return _environment(row)

    def get_environment_by_id(self, env_id: int) -> Environment:
        """An environment by id (NotFound ``unknown_environment``)."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM environments WHERE id = %s", (env_id,)).fetchone()
        if row is None:
            raise NotFound("the environment no longer exists", code="unknown_environment")
        return _environment(row)

    def list_environments(self) -> list[Environment]:
        """Every environment, by name."""
        with self._read() as conn:
            rows = conn.execute('SELECT * FROM environments ORDER BY name COLLATE "C"').fetchall()
        return [_environment(row) for row in rows]

    def set_environment_settings(self, env_id: int, settings: Mapping[str, Any]) -> None:
        """Replaces an environment's settings (NotFound ``unknown_environment``)."""
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE environments SET settings = %s WHERE id = %s", (jsonb(settings), env_id)
            ).rowcount
        if updated == 0:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment")

    # ---- environment variables ----

    def set_environment_variables(self, env_id: int, variables: Sequence[tuple[str, str]]) -> None:
        """Replaces an environment's variables.

        Raises:
            InvalidRequest: a name is empty or given twice (and nothing changes).
        """
        names = [name for name, _ in variables]
        if "" in names or len(set(names)) != len(names):
            raise InvalidRequest(
                "environment variable names must be non-empty and unique", code="invalid_name"
            )
        with self._write() as conn:
            # The environment's row lock makes concurrent replacements take turns.
            row = conn.execute(
                "SELECT 1 FROM environments WHERE id = %s FOR NO KEY UPDATE", (env_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no environment with id {env_id}", code="unknown_environment")
            conn.execute("DELETE FROM environment_variables WHERE env_id = %s", (env_id,))
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO environment_variables (env_id, position, name, value)"
                    " VALUES (%s, %s, %s, %s)",
                    [(env_id, i, name, value) for i, (name, value) in enumerate(variables)],
                )

    def get_environment_variables(self, env_id: int) -> list[tuple[str, str]]:
        """An environment's variables as ``(name, value)``, in the order they were set."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, value FROM environment_variables WHERE env_id = %s ORDER BY position",
                (env_id,),
            ).fetchall()
        return [(str(row["name"]), str(row["value"])) for row in rows]


def _environment(row: Mapping[str, Any]) -> Environment:
    return Environment(
        id=int(row["id"]),
        name=row["name"],
        settings=row["settings"],
        created_at=utc(row["created_at"]),
    )
