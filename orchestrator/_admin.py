"""The one admin path: operator commands that change the store, without a running server.

``corral env create`` and ``corral env settings`` work on the data directory of a server that
may not be running yet (the first environment is made before anyone holds a secret key, so it
cannot go through the API). They go through here, and nowhere else: the same validation as
the server's (``_env_settings``), the tenants area of the store only, opened for one command
and closed after it.
"""

from __future__ import annotations

import pathlib
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from corral._budgets import budgets_for
from corral.errors import InvalidRequest, NotFound
from orchestrator._concurrency import concurrency_for
from orchestrator._env_settings import merged, validated
from orchestrator._store_open import DATABASE_NAME, open_postgres
from orchestrator.storage._areas import TenantStore
from orchestrator.storage._sqlite import SqliteStorage

if TYPE_CHECKING:
    from orchestrator.storage._pg import PostgresStorage


@dataclass(frozen=True)
class NewEnvironment:
    """An environment just created, with its secret key (shown this once)."""

    name: str
    secret_key: str


@dataclass(frozen=True)
class EnvironmentSettings:
    """An environment's settings as stored, and the budgets and concurrency limits in force
    (defaults included)."""

    name: str
    settings: Mapping[str, Any]
    budgets: Mapping[str, int]
    concurrency: Mapping[str, int]


class Admin:
    """Operator commands on one data directory's store."""

    def __init__(self, tenants: TenantStore) -> None:
        self._tenants = tenants

    def create_environment(self, name: str) -> NewEnvironment:
        """Creates environment ``name``.

        Raises:
            AlreadyExists: an environment of that name exists.
            InvalidRequest: the name is not an identifier.
        """
        environment, key = self._tenants.create_environment(name)
        return NewEnvironment(environment.name, key)

    def list_environments(self) -> list[tuple[str, str]]:
        """Every environment's name and when it was created (RFC 3339), by name."""
        return [(e.name, e.created_at.isoformat()) for e in self._tenants.list_environments()]

    def rotate_key(self, name: str) -> NewEnvironment:
        """Gives environment ``name`` a new secret key; the old one is refused from now on.

        Raises:
            NotFound: no such environment.
        """
        environment = self._tenants.get_environment(name)
        return NewEnvironment(environment.name, self._tenants.rotate_secret_key(environment.id))

    def environment_settings(
        self, name: str, patch: Mapping[str, Any] | None = None
    ) -> EnvironmentSettings:
        """Environment ``name``'s settings; with ``patch``, merged in, validated and stored.

        The patch is merged before validating, so a patch can mend stored settings that a newer
        version refuses (limits above a ceiling). A refused patch changes nothing.

        Raises:
            NotFound: no such environment.
            InvalidRequest: the settings (merged with the patch) are not valid.
        """
        environment = self._tenants.get_environment(name)
        settings: Mapping[str, Any] = environment.settings
        if patch is not None:
            _refuse_secret(patch)
            settings = merged(settings, patch)
        settings = validated(settings)
        if patch is not None:
            self._tenants.set_environment_settings(environment.id, settings)
        return EnvironmentSettings(
            name,
            _without_secret(settings),
            asdict(budgets_for(settings)),
            asdict(concurrency_for(settings)),
        )

    def notification_secret(self, name: str) -> NewEnvironment:
        """Gives environment ``name`` a new notification signing secret and returns it (shown
        this once; ``environment_settings`` never shows it). The old one signs no more.

        Raises:
            NotFound: no such environment.
        """
        environment = self._tenants.get_environment(name)
        secret = NOTIFICATION_SECRET_PREFIX + secrets.token_urlsafe(32)
        settings = validated(merged(environment.settings, {"notifications": {"secret": secret}}))
        self._tenants.set_environment_settings(environment.id, settings)
        return NewEnvironment(environment.name, secret)


NOTIFICATION_SECRET_PREFIX = "whsec_"  # noqa: S105 - a visible prefix, not a secret
"""Notification secrets look like ``whsec_<43 url-safe characters>``."""


def _refuse_secret(patch: Mapping[str, Any]) -> None:
    chosen = patch.get("notifications")
    if isinstance(chosen, Mapping) and "secret" in chosen:
        raise InvalidRequest(
            "notifications.secret is generated, not set: use corral env notification-secret",
            code="invalid_settings",
        )


def _without_secret(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as shown: the notification secret is shown only when it is made."""
    shown = dict(settings)
    chosen = shown.get("notifications")
    if isinstance(chosen, Mapping):
        shown["notifications"] = {k: v for k, v in chosen.items() if k != "secret"}
    return shown


@contextmanager
def open_admin(
    data_dir: pathlib.Path, *, create: bool = False, database_url: str = ""
) -> Iterator[Admin]:
    """The admin path on the store in ``data_dir`` (made first when ``create``), closed after;
    on the PostgreSQL database at ``database_url`` instead when it is set (``data_dir`` is then
    not used).

    Raises:
        InvalidRequest, Unavailable: the database cannot be used (see ``_store_open``).
        NotFound: ``no_store``, no store in ``data_dir`` (and not ``create``).
        InvalidRequest: ``data_dir_unusable``, ``data_dir`` cannot be made (a file is there).
    """
    storage = _admin_store(data_dir, create, database_url)
    try:
        yield Admin(storage)
    finally:
        storage.close()


def _admin_store(
    data_dir: pathlib.Path, create: bool, database_url: str
) -> SqliteStorage | PostgresStorage:
    if database_url:
        return open_postgres(database_url)
    if create:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidRequest(
                f"the data directory {data_dir} cannot be used: {exc.strerror}",
                code="data_dir_unusable",
            ) from None
    elif not (data_dir / DATABASE_NAME).is_file():
        raise NotFound(
            f"there is no store in {data_dir}: create an environment first (corral env create)"
            " or pass the server's --data-dir",
            code="no_store",
        )
    return SqliteStorage(data_dir / DATABASE_NAME)
