"""The SQLite engine's tenants: environments, their secret keys, settings and variables."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from corral.errors import AlreadyExists, InvalidRequest, NotFound, Unauthenticated
from orchestrator.storage._areas import Environment
from orchestrator.storage._records import from_rfc3339
from orchestrator.storage._sqlite_base import SqliteBase, json_object, loads

SECRET_KEY_PREFIX = "sk_"  # noqa: S105 - a visible prefix, not a secret
"""Secret keys look like ``sk_<43 url-safe characters>``."""


def hash_secret_key(secret_key: str) -> str:
    """The stored form of a secret key: sha256, hex."""
    return hashlib.sha256(secret_key.encode()).hexdigest()


class TenantsMixin(SqliteBase):
    """Environments and their variables: ``orchestrator.storage._areas.TenantStore``."""

    # ---- environments ----

    def create_environment(self, name: str) -> tuple[Environment, str]:
        """Creates an environment.

        Returns:
            The environment and its secret key. Only a hash of the key is stored, so this is
            the one time it can be shown.

        Raises:
            InvalidRequest: the name is empty.
            AlreadyExists: code ``environment_exists``.
        """
        if not name:
            raise InvalidRequest("an environment needs a name", code="invalid_name")
        secret_key = SECRET_KEY_PREFIX + secrets.token_urlsafe(32)
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM environments WHERE name = ?", (name,)).fetchone():
                raise AlreadyExists(f"environment {name!r} exists", code="environment_exists")
            conn.execute(
                "INSERT INTO environments (name, secret_key_hash, settings, created_at)"
                " VALUES (?, ?, '{}', ?)",
                (name, hash_secret_key(secret_key), self._now()),
            )
            row = conn.execute("SELECT * FROM environments WHERE name = ?", (name,)).fetchone()
        return _environment(row), secret_key

    def environment_by_secret_key(self, secret_key: str) -> Environment:
        """The environment of a secret key (looked up by its hash).

        Raises:
            Unauthenticated: no environment has this key.
        """
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM environments WHERE secret_key_hash = ?",
                (hash_secret_key(secret_key),),
            ).fetchone()
        if row is None:
            raise Unauthenticated("unknown secret key", code="invalid_secret_key")
        return _environment(row)

    def get_environment(self, name: str) -> Environment:
        """An environment by name (NotFound ``unknown_environment``)."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM environments WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no environment {name!r}", code="unknown_environment")
        return _environment(row)

    def get_environment_by_id(self, env_id: int) -> Environment:
        """An environment by id (NotFound ``unknown_environment``)."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM environments WHERE id = ?", (env_id,)).fetchone()
        if row is None:
            raise NotFound("the environment no longer exists", code="unknown_environment")
        return _environment(row)

    def list_environments(self) -> list[Environment]:
        """Every environment, by name."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM environments ORDER BY name").fetchall()
        return [_environment(row) for row in rows]

    def set_environment_settings(self, env_id: int, settings: Mapping[str, Any]) -> None:
        """Replaces an environment's settings (NotFound ``unknown_environment``)."""
        with self._write() as conn:
            self._require_environment(conn, env_id)
            conn.execute(
                "UPDATE environments SET settings = ? WHERE id = ?",
                (json_object(settings), env_id),
            )

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
            self._require_environment(conn, env_id)
            conn.execute("DELETE FROM environment_variables WHERE env_id = ?", (env_id,))
            conn.executemany(
                "INSERT INTO environment_variables (env_id, position, name, value)"
                " VALUES (?, ?, ?, ?)",
                [(env_id, i, name, value) for i, (name, value) in enumerate(variables)],
            )

    def get_environment_variables(self, env_id: int) -> list[tuple[str, str]]:
        """An environment's variables as ``(name, value)``, in the order they were set."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, value FROM environment_variables WHERE env_id = ? ORDER BY position",
                (env_id,),
            ).fetchall()
        return [(str(row["name"]), str(row["value"])) for row in rows]


def _environment(row: sqlite3.Row) -> Environment:
    return Environment(
        id=int(row["id"]),
        name=row["name"],
        settings=loads(row["settings"]),
        created_at=from_rfc3339(row["created_at"]),
    )
