"""Opening the store ``corral serve`` and the admin commands work on: SQLite in the data
directory, or PostgreSQL when ``CORRAL_DATABASE_URL`` (``--database-url``) is set.

Every reason the database cannot be used at start is one typed error whose message names the
setting and never shows the password: a malformed URL (``invalid_setting``), wrong credentials
or a database that does not exist (``database_refused``), a server that cannot be reached
(``database_unreachable``), a server older than ``MIN_SERVER_VERSION``
(``database_too_old``), a schema newer than this build knows (``database_too_new``).
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

from corral._settings import ServeSettings, secrets_key
from corral.errors import InvalidRequest, Unavailable
from orchestrator.storage._secrets import SecretBox
from orchestrator.storage._sqlite import SqliteStorage

if TYPE_CHECKING:  # psycopg is imported only when a URL is given: SQLite serves start lighter
    from orchestrator.storage._pg import PostgresStorage

DATABASE_NAME = "corral.db"
"""The SQLite store's file inside a data directory."""

SETTING = "CORRAL_DATABASE_URL (or --database-url)"
"""How errors name the setting."""

MIN_SERVER_VERSION = 130000
"""The oldest PostgreSQL server the engine's SQL is written for (13: identity columns,
``ON CONFLICT``, multi-array ``unnest``, ``pg_advisory_xact_lock``; tested on 15)."""

PROBE_TIMEOUT_S = 5
"""How long the first connection at start may take before the server counts as unreachable."""

_REFUSED_STATES = {  # SQLSTATEs of a server that refuses the connection
    "28P01": "the password or the user is wrong",
    "28000": "the server refuses this user",
    "3D000": "the database does not exist",
    "42501": "the user may not connect to this database",
}


def open_storage(
    data_dir: pathlib.Path, database_url: str, secrets: SecretBox | None = None
) -> SqliteStorage | PostgresStorage:
    """The store: PostgreSQL at ``database_url`` when it is set, else SQLite in ``data_dir``;
    with ``secrets``, its secrets sealed with that box's current key (``use_secrets``: stored
    plaintext and old keys' values are sealed again at once).

    Raises:
        InvalidRequest: ``invalid_setting`` (a malformed URL), ``database_too_old``,
            ``database_too_new``, ``secrets_key_wrong`` (the store's secrets were encrypted
            with a key that is not configured).
        Unavailable: ``database_refused``, ``database_unreachable``; ``secret_unreadable``, a
            stored secret does not open for its row.
    """
    opened = (
        open_postgres(database_url) if database_url else SqliteStorage(data_dir / DATABASE_NAME)
    )
    if secrets is None:
        return opened
    try:
        opened.use_secrets(secrets)
    except InvalidRequest as exc:
        opened.close()
        if exc.code != "secrets_key_wrong":
            raise
        raise InvalidRequest(
            f"{exc.message}: set the key the secrets were encrypted with as {SECRETS_SETTING},"
            " or keep it in CORRAL_SECRETS_OLD_KEYS while rotating to a new one",
            code=exc.code,
        ) from None
    except BaseException:
        opened.close()
        raise
    return opened


SECRETS_SETTING = "CORRAL_SECRETS_KEY (or CORRAL_SECRETS_KEY_FILE)"
"""How errors name the setting of the secrets key."""


def secret_box(settings: ServeSettings) -> SecretBox:
    """The box of the secrets key settings: the current key (from ``CORRAL_SECRETS_KEY`` or
    the file of ``CORRAL_SECRETS_KEY_FILE``) and the old ones still accepted.

    Raises:
        InvalidRequest: ``invalid_setting``, the key file cannot be read or holds no key (the
            key is never repeated).
    """
    text = settings.secrets_key.get_secret_value()
    path = settings.secrets_key_file
    if path is not None:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not text"
            raise InvalidRequest(
                f"CORRAL_SECRETS_KEY_FILE: {path} cannot be read: {reason}; expected a file"
                " (0600) holding the base64 of 32 random bytes",
                code="invalid_setting",
            ) from None
        try:
            secrets_key(text)
        except ValueError as exc:
            raise InvalidRequest(
                f"CORRAL_SECRETS_KEY_FILE: {path}: {exc}", code="invalid_setting"
            ) from None
    old = [key for key in settings.secrets_old_keys.get_secret_value().split(",") if key.strip()]
    return SecretBox(secrets_key(text) if text.strip() else None, [secrets_key(key) for key in old])


def open_postgres(url: str) -> PostgresStorage:
    """``PostgresStorage`` at ``url``, after a first connection that says why it fails."""
    import psycopg  # noqa: PLC0415 - only with a database URL
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    from orchestrator.storage._pg import PostgresStorage  # noqa: PLC0415

    shown = describe(url)
    try:
        conninfo_to_dict(url)
        probe = psycopg.connect(url, connect_timeout=PROBE_TIMEOUT_S)
    except psycopg.ProgrammingError as exc:  # the URL itself does not parse
        raise InvalidRequest(
            f"{SETTING} is not a PostgreSQL URL: {_hidden(str(exc), url)}; expected"
            " postgresql://user:password@host:5432/database",
            code="invalid_setting",
        ) from None
    except psycopg.OperationalError as exc:
        # A server that answered says why (FATAL: ...); psycopg keeps no SQLSTATE for it.
        said = str(exc).rpartition("FATAL:")[2].strip() if "FATAL:" in str(exc) else None
        reason = _REFUSED_STATES.get(exc.sqlstate or "") or said
        if reason:
            reason = _hidden(_first_line(reason), url)
            raise Unavailable(
                f"{SETTING}: the server at {shown} refused the connection: {reason}",
                code="database_refused",
                retryable=False,
            ) from None
        detail = _hidden(_first_line(str(exc)), url)
        raise Unavailable(
            f"{SETTING}: the server at {shown} cannot be reached: {detail}",
            code="database_unreachable",
            retryable=True,
        ) from None
    try:
        version = probe.info.server_version
    finally:
        probe.close()
    if version < MIN_SERVER_VERSION:
        raise InvalidRequest(
            f"{SETTING}: the server at {shown} is PostgreSQL {_version(version)}; corral needs"
            f" {_version(MIN_SERVER_VERSION)} or newer",
            code="database_too_old",
        )
    try:
        return PostgresStorage(url)
    except InvalidRequest as exc:  # database_too_new
        raise InvalidRequest(f"{SETTING}: {shown}: {exc.message}", code=exc.code) from None
    except Unavailable as exc:
        raise Unavailable(
            f"{SETTING}: {shown}: {_hidden(exc.message, url)}",
            code=exc.code,
            retryable=exc.retryable,
        ) from None


def describe(url: str) -> str:
    """``host:port/database`` of a URL, without the user's password (for messages and logs)."""
    import psycopg  # noqa: PLC0415 - only with a database URL
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(a malformed URL)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = parts.get("user")
    who = f"{user}@" if user else ""
    return f"{who}{host}:{port}/{parts.get('dbname') or user or ''}"


def _hidden(text: str, url: str) -> str:
    """``text`` with the URL's password (if any) replaced by ``***``."""
    import psycopg  # noqa: PLC0415 - only with a database URL
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        return text.replace(url, "(the URL)")
    return text.replace(str(password), "***") if password else text


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text


def _version(number: int) -> str:
    """PostgreSQL's version number (150018) as people write it (15.18)."""
    return f"{number // 10000}.{number % 10000}"
