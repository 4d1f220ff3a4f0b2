"""Tenants for every engine: environments, their secret keys, settings and variables.

``TenantsArea`` implements ``orchestrator.storage._areas.TenantStore`` once; an engine's
``TenantsMixin`` gives it the two statements where the engines differ (``_insert_environment``,
``_lock_environment``).
"""

from __future__ import annotations

import hashlib
import secrets
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from corral._budgets import check_variables
from corral.errors import AlreadyExists, InvalidRequest, NotFound, Unauthenticated
from orchestrator._text_values import names_hold_nul, refuse_nul
from orchestrator.storage._engine import C
from orchestrator.storage._rows import Row, environment
from orchestrator.storage._sealing import VARIABLES, SealingBase
from orchestrator.storage._types import Environment

SECRET_KEY_PREFIX = "sk_"  # noqa: S105 - a visible prefix, not a secret
"""Secret keys look like ``sk_<43 url-safe characters>``."""


def hash_secret_key(secret_key: str) -> str:
    """The stored form of a secret key: sha256, hex."""
    return hashlib.sha256(secret_key.encode()).hexdigest()


def new_secret_key() -> str:
    """A new environment secret key: ``sk_`` and 256 random bits."""
    return SECRET_KEY_PREFIX + secrets.token_urlsafe(32)


class TenantsArea(SealingBase[C]):
    """Environments and their variables: ``orchestrator.storage._areas.TenantStore``.

    Variable values are secrets: sealed when the store has a key (``_sealing``).
    """

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
        if names_hold_nul(name):
            raise InvalidRequest(
                "an environment's name must not hold the character U+0000 (NUL)",
                code="invalid_name",
            )
        secret_key = new_secret_key()
        with self._write() as conn:
            row = self._insert_environment(conn, name, hash_secret_key(secret_key))
        if row is None:
            raise AlreadyExists(f"environment {name!r} exists", code="environment_exists")
        return self._environment(row), secret_key

    def rotate_secret_key(self, env_id: int) -> str:
        """Gives the environment a new secret key and returns it (only its hash is stored, so
        this is the one time it can be shown); the old key is refused from now on.

        Raises:
            NotFound: ``unknown_environment``.
        """
        secret_key = new_secret_key()
        with self._write() as conn:
            updated = self._exec(
                conn,
                "UPDATE environments SET secret_key_hash = ? WHERE id = ?",
                (hash_secret_key(secret_key), env_id),
            )
        if updated == 0:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment")
        return secret_key

    def environment_by_secret_key(self, secret_key: str) -> Environment:
        """The environment of a secret key (looked up by its hash).

        Raises:
            Unauthenticated: no environment has this key.
        """
        row = self._read_one(
            "SELECT * FROM environments WHERE secret_key_hash = ?", (hash_secret_key(secret_key),)
        )
        if row is None:
            raise Unauthenticated("unknown secret key", code="invalid_secret_key")
        return self._environment(row)

    def get_environment(self, name: str) -> Environment:
        """An environment by name (NotFound ``unknown_environment``)."""
        row = (
            None
            if names_hold_nul(name)
            else self._read_one("SELECT * FROM environments WHERE name = ?", (name,))
        )
        if row is None:
            raise NotFound(f"no environment {name!r}", code="unknown_environment")
        return self._environment(row)

    def get_environment_by_id(self, env_id: int) -> Environment:
        """An environment by id (NotFound ``unknown_environment``)."""
        row = self._read_one("SELECT * FROM environments WHERE id = ?", (env_id,))
        if row is None:
            raise NotFound("the environment no longer exists", code="unknown_environment")
        return self._environment(row)

    def list_environments(self) -> list[Environment]:
        """Every environment, by name."""
        with self._read() as conn:
            order = f"ORDER BY name{self._by_code_point}"
            # S608: the collation is a constant of the engine, not input.
            rows = self._fetch_all(conn, "SELECT * FROM environments " + order)  # noqa: S608
        return [self._environment(row) for row in rows]

    def set_environment_settings(self, env_id: int, settings: Mapping[str, Any]) -> None:
        """Replaces an environment's settings (NotFound ``unknown_environment``; InvalidRequest
        ``invalid_settings`` for a key or string holding NUL)."""
        refuse_nul(settings, what="settings", code="invalid_settings")
        with self._write() as conn:
            updated = self._exec(
                conn,
                "UPDATE environments SET settings = ? WHERE id = ?",
                (self._seal_settings(env_id, settings), env_id),
            )
        if updated == 0:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment")

    def _environment(self, row: Row) -> Environment:
        """An ``environments`` row, its notification secret opened (``_sealing``)."""
        found = environment(row, self._codec)
        return replace(found, settings=self._open_settings(found.id, found.settings))

    # ---- environment variables ----

    def set_environment_variables(self, env_id: int, variables: Sequence[tuple[str, str]]) -> None:
        """Replaces an environment's variables.

        Raises:
            ResourceExhausted: past a bound of ``corral._budgets.check_variables`` (checked
                first, before any other work); nothing changes.
            InvalidRequest: a name is empty, given twice or holds NUL (``invalid_name``), a
                value holds NUL (``invalid_variable``); nothing changes.
        """
        check_variables(variables)
        names = [name for name, _ in variables]
        if "" in names or len(set(names)) != len(names) or names_hold_nul(*names):
            raise InvalidRequest(
                "environment variable names must be non-empty, unique and without NUL",
                code="invalid_name",
            )
        if names_hold_nul(*(value for _, value in variables)):
            raise InvalidRequest(
                "an environment variable's value must not hold the character U+0000 (NUL)",
                code="invalid_variable",
            )
        with self._write() as conn:
            self._lock_environment(conn, env_id)
            self._exec(conn, "DELETE FROM environment_variables WHERE env_id = ?", (env_id,))
            self._exec_many(
                conn,
                "INSERT INTO environment_variables (env_id, position, name, value, sealed)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (env_id, i, name, *self._seal_text(env_id, VARIABLES, name, value))
                    for i, (name, value) in enumerate(variables)
                ],
            )

    def get_environment_variables(self, env_id: int) -> list[tuple[str, str]]:
        """An environment's variables as ``(name, value)``, in the order they were set."""
        with self._read() as conn:
            rows = self._fetch_all(
                conn,
                "SELECT name, value, sealed FROM environment_variables WHERE env_id = ?"
                " ORDER BY position",
                (env_id,),
            )
        return [
            (
                str(row["name"]),
                self._open_text(
                    env_id, VARIABLES, str(row["name"]), str(row["value"]), bool(row["sealed"])
                ),
            )
            for row in rows
        ]

    # ---- what each engine writes its own way ----

    @abstractmethod
    def _insert_environment(self, conn: C, name: str, key_hash: str) -> Row | None:
        """Inserts an environment; its row, or None when the name is taken."""

    @abstractmethod
    def _lock_environment(self, conn: C, env_id: int) -> None:
        """Makes the transaction the environment's one writer (NotFound
        ``unknown_environment``)."""
