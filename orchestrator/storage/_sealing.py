"""Secrets at rest for every engine: the one seam where secret values are sealed and opened.

``SealingBase`` is part of each engine's plumbing (``SqliteBase`` and ``PostgresBase`` build on
it), and the base of the areas that store secrets (``_area_tenants``: environment
variable values; ``_area_connections``: connection credentials and integration auth configs).
They seal what they write and open what they read through it, with the store's ``SecretBox``
(``orchestrator.storage._secrets``), so both engines store the same sealed text:

- a JSON column (credentials, auth config) holds a JSON object in plaintext, or a JSON string,
  the sealed JSON text of the object, when a key is configured;
- an environment variable's ``value`` is plaintext or sealed text, as its ``sealed`` column
  says;
- an environment's notification signing secret (``settings.notifications.secret``) is
  plaintext or sealed text in place (the rest of the settings stays readable JSON).

``_seal_stored`` (each engine's ``use_secrets``) gives the store its box at start and brings
every stored secret under the current key: plaintext rows (a store from before keys, or
without one) are sealed, rows of an old key are sealed again with the current one; a store
whose secrets no configured key opens fails at once with ``secrets_key_wrong``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.errors import InvalidRequest
from orchestrator.storage._engine import C, EngineBase
from orchestrator.storage._rows import dumps, loads
from orchestrator.storage._secrets import NO_KEY, SecretBox, is_sealed, place

CREDENTIALS = "connections.credentials"
AUTH_CONFIG = "integrations.auth_config"
VARIABLES = "environment_variables.value"
NOTIFICATION_SECRET = "environments.settings.notifications.secret"  # noqa: S105 - a place name

_JSON_COLUMNS = (
    # (place name, table, column, row key column)
    (CREDENTIALS, "connections", "credentials", "connection_id"),
    (AUTH_CONFIG, "integrations", "auth_config", "unique_key"),
)


class SealingBase(EngineBase[C]):
    """Sealing and opening of the stored secrets with the store's key."""

    _box: SecretBox = NO_KEY

    def _seal_stored(self, box: SecretBox) -> int:
        """Seals new secrets with ``box`` from now on, and every stored one with its current
        key (or, without one, stores them opened); the number of values written again.

        Raises:
            InvalidRequest: ``secrets_key_wrong``, a stored secret was sealed with a key the
                box does not hold (nothing is changed).
            SecretUnreadable: a stored secret does not open for its row (moved or altered).
        """
        before, self._box = self._box, box
        try:
            # A read first: a store already as the box writes it is not locked at all.
            with self._read() as conn:
                pending = self._reseal(conn, write=False)
            if not pending:
                return 0
            with self._write() as conn:  # the rows locked, where the engine locks rows
                changed = self._reseal(conn, write=True)
        except BaseException:
            self._box = before
            raise
        if changed:
            self._forget_replaced()
        return changed

    def _reseal(self, conn: C, *, write: bool) -> int:
        """The stored secrets not as the box writes them; with ``write``, written again."""
        changed = 0
        lock = self._locking if write else str
        for name, table, column, key in _JSON_COLUMNS:
            # S608: table and column names are constants of this module, not input.
            select = f"SELECT id, env_id, {key}, {column} FROM {table}"  # noqa: S608
            for row in self._fetch_all(conn, lock(select)):
                stored = self._codec.json(row[column])
                if self._settled(stored):
                    continue
                changed += 1
                if write:
                    env_id, row_key = int(row["env_id"]), str(row[key])
                    opened = self._open_json(env_id, name, row_key, stored)
                    self._exec(
                        conn,
                        f"UPDATE {table} SET {column} = ? WHERE id = ?",  # noqa: S608
                        (self._seal_json(env_id, name, row_key, opened), row["id"]),
                    )
        changed += self._reseal_settings(conn, write=write)
        select = "SELECT env_id, name, value, sealed FROM environment_variables"
        for row in self._fetch_all(conn, lock(select)):
            stored, sealed = str(row["value"]), bool(row["sealed"])
            if self._settled(stored if sealed else {}):
                continue
            changed += 1
            if write:
                env_id, variable = int(row["env_id"]), str(row["name"])
                text = self._open_text(env_id, VARIABLES, variable, stored, sealed)
                self._exec(
                    conn,
                    "UPDATE environment_variables SET value = ?, sealed = ?"
                    " WHERE env_id = ? AND name = ?",
                    (*self._seal_text(env_id, VARIABLES, variable, text), env_id, variable),
                )
        return changed

    def _reseal_settings(self, conn: C, *, write: bool) -> int:
        """:meth:`_reseal` of the environments' notification secrets."""
        changed = 0
        select = "SELECT id, settings FROM environments"
        for row in self._fetch_all(conn, (self._locking if write else str)(select)):
            env_id, stored = int(row["id"]), self._codec.json(row["settings"])
            secret = _notification_secret(stored)
            if secret is None or self._settled(secret):
                continue
            changed += 1
            if write:
                opened = self._open_settings(env_id, stored)
                self._exec(
                    conn,
                    "UPDATE environments SET settings = ? WHERE id = ?",
                    (self._seal_settings(env_id, opened), env_id),
                )
        return changed

    def _seal_settings(self, env_id: int, settings: Mapping[str, Any]) -> object:
        """An environment's settings as stored: its notification secret sealed in place."""
        secret = _notification_secret(settings)
        if secret is None or not self._box.encrypting:
            return self._json_in(settings)
        sealed = self._box.seal(secret, place(env_id, NOTIFICATION_SECRET, str(env_id)))
        notifications = dict(settings["notifications"]) | {"secret": sealed}
        return self._json_in(dict(settings) | {"notifications": notifications})

    def _open_settings(self, env_id: int, stored: Mapping[str, Any]) -> dict[str, Any]:
        """An environment's settings as read: its notification secret opened
        (``SecretUnreadable`` when it cannot be)."""
        secret = _notification_secret(stored)
        if secret is None or not is_sealed(secret):
            return dict(stored)
        opened = self._box.open(secret, place(env_id, NOTIFICATION_SECRET, str(env_id)))
        return dict(stored) | {"notifications": dict(stored["notifications"]) | {"secret": opened}}

    def _forget_replaced(self) -> None:
        """Where the engine keeps replaced row contents in its files (SQLite's free pages and
        WAL), overwrites them, so that no plaintext a rotation replaced stays on disk."""

    def _settled(self, stored: Any) -> bool:
        """Whether a stored value is as the box would write it (else checks its key is held)."""
        if not is_sealed(stored):
            return not self._box.encrypting
        if not self._box.known(stored):
            raise InvalidRequest(
                "the store holds secrets encrypted with a key that is not configured"
                f" (key id {str(stored).removeprefix('corral-sealed:v1:').partition(':')[0]})",
                code="secrets_key_wrong",
            )
        return self._box.is_current(stored)

    def _seal_json(self, env_id: int, column: str, key: str, value: Mapping[str, Any]) -> object:
        """A JSON object as its column binds it: sealed with the key, or as it is."""
        if not self._box.encrypting:
            return self._json_in(value)
        return self._json_in(self._box.seal(dumps(dict(value)), place(env_id, column, key)))

    def _open_json(self, env_id: int, column: str, key: str, stored: Any) -> dict[str, Any]:
        """A JSON column's object, opened when sealed (``SecretUnreadable`` when it cannot)."""
        if is_sealed(stored):
            opened: dict[str, Any] = loads(self._box.open(stored, place(env_id, column, key)))
            return opened
        return dict(stored)

    def _seal_text(self, env_id: int, column: str, key: str, value: str) -> tuple[str, bool]:
        """A text value as stored, and whether it is sealed."""
        if not self._box.encrypting:
            return value, False
        return self._box.seal(value, place(env_id, column, key)), True

    def _open_text(self, env_id: int, column: str, key: str, stored: str, sealed: bool) -> str:
        """A text value's plaintext (``SecretUnreadable`` when it cannot be opened)."""
        return self._box.open(stored, place(env_id, column, key)) if sealed else stored


def _notification_secret(settings: Mapping[str, Any]) -> str | None:
    """An environment's notification secret as stored in its settings (None: none)."""
    notifications = settings.get("notifications") if isinstance(settings, Mapping) else None
    secret = notifications.get("secret") if isinstance(notifications, Mapping) else None
    return secret if isinstance(secret, str) and secret else None
