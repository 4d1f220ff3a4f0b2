"""The SQLite engine's plumbing: connections per thread, transactions, migrations, lookups.

``SqliteStorage`` is assembled from mixins that all build on ``SqliteBase``.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from corral.errors import NotFound, Unavailable
from orchestrator._text_values import NUL
from orchestrator.storage._engine import (
    DEFAULT_MAX_LOG_LINES,
    Clock,
    Params,
    utc_now,
)
from orchestrator.storage._migrate import (
    SCHEMA_MIGRATIONS_TABLE,
    Migration,
    load_migrations,
    pending,
)
from orchestrator.storage._records import from_rfc3339, to_rfc3339
from orchestrator.storage._rows import Codec, Row, dumps, loads
from orchestrator.storage._sealing import SealingBase
from orchestrator.storage._secrets import SecretBox

DEFAULT_BUSY_TIMEOUT_MS = 10_000


class SqliteBase(SealingBase[sqlite3.Connection]):
    """Connections, transactions and shared lookups of the SQLite engine.

    Each thread gets its own connection (the orchestrator is a threaded gRPC server); writes
    take SQLite's write lock at ``BEGIN IMMEDIATE`` so that a read-then-write transaction never
    fails on a lock upgrade, and wait up to the busy timeout for other writers.
    """

    _codec = Codec(stamp=from_rfc3339, json=loads)

    def __init__(
        self,
        path: str | pathlib.Path,
        *,
        clock: Clock | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        max_log_lines: int = DEFAULT_MAX_LOG_LINES,
    ) -> None:
        """Opens (and creates or migrates) the store.

        Args:
            path: the database file; created when missing.
            clock: the time source; UTC now by default.
            busy_timeout_ms: how long a write waits for another writer before giving up.
            max_log_lines: log lines kept per run; later lines are counted, not stored.
        """
        self._path = str(path)
        self._clock = clock or utc_now
        self._busy_timeout_ms = busy_timeout_ms
        self._max_log_lines = max_log_lines
        self._local = threading.local()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._connections_lock = threading.Lock()
        self._closed = False
        _private_files(self._path)
        self._migrate()

    def use_secrets(self, box: SecretBox) -> int:
        """Seals secrets with ``box`` from now on, and every stored one with its current key;
        the number of values written again (``orchestrator.storage._sealing``).

        Raises:
            InvalidRequest: ``secrets_key_wrong``, a stored secret was sealed with a key the
                box does not hold (nothing is changed).
            SecretUnreadable: a stored secret does not open for its row (moved or altered).
        """
        return self._seal_stored(box)

    def _forget_replaced(self) -> None:
        # VACUUM rewrites the file without its free pages; the checkpoint empties the WAL.
        try:
            connection = self._connection()
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:
            raise self._unavailable(getattr(self._local, "connection", None), exc) from exc

    def close(self) -> None:
        """Closes every thread's connection; the store cannot be used afterwards."""
        with self._connections_lock:
            self._closed = True
            for connection in self._connections.values():
                connection.close()
            self._connections.clear()

    # ---- the dialect (``orchestrator.storage._engine``) ----

    def _now(self) -> str:
        return to_rfc3339(self._clock())

    def _fetch_one(self, conn: sqlite3.Connection, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = conn.execute(sql, params).fetchone()
        return row

    def _fetch_all(self, conn: sqlite3.Connection, sql: str, params: Params = ()) -> list[Row]:
        return list(conn.execute(sql, params).fetchall())

    def _exec(self, conn: sqlite3.Connection, sql: str, params: Params = ()) -> int:
        return conn.execute(sql, params).rowcount

    def _exec_many(self, conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    def _stamp_in(self, value: datetime) -> str:
        return to_rfc3339(value)

    def _not_among(self) -> str:
        return "NOT IN (SELECT value FROM json_each(?))"

    def _text_list(self, values: Sequence[str]) -> str:
        return dumps(list(values))

    def _json_in(self, value: Any) -> str:
        return dumps(dict(value) if isinstance(value, Mapping) else value)

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise Unavailable("storage is closed", code="storage_closed", retryable=False)
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
        return connection

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.row_factory = sqlite3.Row
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable against crashes of the process; in WAL mode a power loss can
            # lose the last commits but never corrupts the file (docs/runtime.md, Durability).
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            # Deleted and replaced contents are overwritten: no secret outlives its row.
            connection.execute("PRAGMA secure_delete = ON")
            connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        except sqlite3.Error:
            connection.close()
            raise
        with self._connections_lock:
            if self._closed:
                connection.close()
                raise Unavailable("storage is closed", code="storage_closed", retryable=False)
            self._forget_finished_threads()
            self._connections[threading.current_thread()] = connection
        return connection

    def _forget_finished_threads(self) -> None:
        # Threads that ended took their thread-local slot with them; close what they left.
        for thread in [thread for thread in self._connections if not thread.is_alive()]:
            self._connections.pop(thread).close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: commits on success, rolls back on any error."""
        with self._transaction("BEGIN IMMEDIATE") as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several queries."""
        with self._transaction("BEGIN") as connection:
            yield connection

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._connection()
        except sqlite3.OperationalError as exc:  # the file cannot be opened, or set up
            raise self._unavailable(None, exc) from exc
        try:
            connection.execute(begin)
        except sqlite3.OperationalError as exc:
            raise self._unavailable(connection, exc) from exc
        try:
            yield connection
            connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            _roll_back(connection)
            raise self._unavailable(connection, exc) from exc
        except BaseException:
            _roll_back(connection)
            raise

    def _unavailable(
        self, connection: sqlite3.Connection | None, exc: sqlite3.Error
    ) -> Unavailable:
        """The typed, retryable error of a store that cannot do its work right now.

        ``storage_unavailable`` (details: ``reason`` ``disk_full``, ``read_only`` or
        ``io_error``, and ``data_dir``) with what an operator can do, or ``storage_busy``.
        A connection that met a read-only or I/O error is dropped, so that the thread's next call
        opens a fresh one: a short read-only spell of the data directory does not outlive itself.
        """
        name = getattr(exc, "sqlite_errorname", "")
        if connection is not None and name.startswith(
            ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")
        ):
            self._drop(connection)
        found = _STORE_ERRORS.get(name.partition("_")[2].partition("_")[0])
        if found is None:
            return Unavailable(f"storage busy: {exc}", code="storage_busy", retryable=True)
        reason, what, remedy = found
        data_dir = str(pathlib.Path(self._path).parent)
        return Unavailable(
            f"{what} ({exc}): {remedy.format(data_dir=data_dir)}",
            code="storage_unavailable",
            retryable=True,
            details={"reason": reason, "data_dir": data_dir},
        )

    def _drop(self, connection: sqlite3.Connection) -> None:
        with self._connections_lock:
            for thread, held in list(self._connections.items()):
                if held is connection:
                    del self._connections[thread]
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None
        connection.close()

    def _migrate(self) -> None:
        try:
            connection = self._connection()
            connection.execute(SCHEMA_MIGRATIONS_TABLE)
        except sqlite3.OperationalError as exc:  # at start: a full, read-only or failed disk
            raise self._unavailable(getattr(self._local, "connection", None), exc) from exc
        for migration in load_migrations("sqlite"):
            with self._write() as conn:
                rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
                if pending([migration], {int(row[0]) for row in rows}):
                    self._apply(conn, migration)

    def _apply(self, connection: sqlite3.Connection, migration: Migration) -> None:
        # executescript() would commit the open transaction first, so run statement by statement.
        for statement in _statements(migration.sql):
            connection.execute(statement)
        connection.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, to_rfc3339(utc_now())),
        )

    # ---- lookups shared by the mixins ----

    def _require_environment(self, connection: sqlite3.Connection, env_id: int) -> None:
        row = connection.execute("SELECT 1 FROM environments WHERE id = ?", (env_id,)).fetchone()
        if row is None:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment")

    # ``lock`` changes nothing: the write transaction (``BEGIN IMMEDIATE``) is the one writer.

    def _integration_pk(
        self, connection: sqlite3.Connection, env_id: int, key: str, *, lock: bool = False
    ) -> int:
        row = (
            None
            if NUL in key
            else connection.execute(
                "SELECT id FROM integrations WHERE env_id = ? AND unique_key = ?", (env_id, key)
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"no integration {key!r}", code="unknown_integration")
        return int(row[0])

    def _connection_pk(
        self,
        connection: sqlite3.Connection,
        env_id: int,
        connection_id: str,
        *,
        lock: bool = False,
    ) -> int:
        row = (
            None
            if NUL in connection_id
            else connection.execute(
                "SELECT id FROM connections WHERE env_id = ? AND connection_id = ?",
                (env_id, connection_id),
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        return int(row[0])


def _private_files(path: str) -> None:
    """Makes the store's file (and its WAL and shared-memory files, which SQLite creates with
    the file's mode) readable and writable by this user only: 0600. An existing store's files
    are narrowed to 0600 too."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(path + suffix, 0o600)
    except OSError:
        return  # sqlite3 says what is wrong with the file when it opens it (_unavailable)


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if _has_sql(buffer):
                yield buffer
            buffer = ""
    if _has_sql(buffer):
        yield buffer


def _has_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


_STORE_ERRORS = {
    "FULL": (
        "disk_full",
        "the store's disk is full (or the store reached its size limit)",
        "free space on the disk of {data_dir}",
    ),
    "READONLY": (
        "read_only",
        "the store cannot be written",
        "make {data_dir} and the files in it writable by this process (check the mount too)",
    ),
    "IOERR": (
        "io_error",
        "the store's disk failed to read or write",
        "check the disk of {data_dir} (the kernel log, the mount, free space)",
    ),
    "CANTOPEN": (
        "io_error",
        "the store's file cannot be opened",
        "check that {data_dir} exists, is readable and writable, and that its disk is mounted",
    ),
}
"""``storage_unavailable`` errors by SQLite's primary result code (``SQLITE_FULL`` -> ``FULL``):
the ``reason`` in the details, what went wrong, and what an operator can do about it. Every other
operational error is ``storage_busy``."""


def _roll_back(connection: sqlite3.Connection) -> None:
    try:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # the transaction is gone with the error (SQLite rolled it back itself)
