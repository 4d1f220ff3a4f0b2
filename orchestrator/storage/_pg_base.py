"""The PostgreSQL engine's plumbing: a connection pool, transactions, migrations, lookups.

``PostgresStorage`` is assembled from mixins that all build on ``PostgresBase``, as
``SqliteStorage`` is on ``SqliteBase``. psycopg 3 binds parameters on the server (the query and
its values travel apart); connections come from a ``psycopg_pool.ConnectionPool`` and each
call is one transaction on one of them.

Errors of the server are typed as the SQLite engine's are: a store that cannot do its work
right now is ``Unavailable`` and retryable, with a code that says why:

- ``storage_unavailable``: the server cannot be reached, went away mid-call, or is shutting
  down or starting; the pool replaces the lost connections, so a later call works again once the
  server is back;
- ``storage_busy``: a lock or statement waited too long, a deadlock, a serialization failure;
- ``storage_full``, ``storage_read_only``, ``storage_io_error``: as with SQLite.

A value the server refuses to keep (``psycopg.DataError``: a NUL in text, ``\\u0000`` in
JSONB, a number out of range) is ``InvalidRequest`` ``unstorable_value``, never an internal
error, and the answer holds neither the server's text nor the value.
"""

from __future__ import annotations

import functools
import select
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool
import structlog
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb

from corral.errors import InvalidRequest, NotFound, Unavailable
from orchestrator._text_values import NUL
from orchestrator.storage._engine import (
    DEFAULT_MAX_LOG_LINES,
    Clock,
    Params,
    utc_now,
)
from orchestrator.storage._fresh_statistics import Analyzer
from orchestrator.storage._migrate import SCHEMA_MIGRATIONS_TABLE, Migration, load_migrations
from orchestrator.storage._records import to_rfc3339
from orchestrator.storage._rows import Codec, Row
from orchestrator.storage._sealing import SealingBase
from orchestrator.storage._secrets import SecretBox
from orchestrator.storage._waits import (
    COMMIT_UNKNOWN,
    CONNECTION_LOST,
    SERVER_RESTARTING,
    SERVER_UNREACHABLE,
    wait_seconds,
)

_log = structlog.get_logger("corral.storage")


PgConnection = psycopg.Connection[DictRow]
"""A pooled connection whose rows are dicts by column name."""


def check_connection(connection: PgConnection) -> None:
    """Raises when a connection taken from the pool no longer works, so that the pool throws it
    away and takes another.

    psycopg's own check sends an empty query, a round trip on every call's connection (8 per
    trivial run, about a fifth of the run's statements). A connection the server has closed
    (restarted, shut down, its backend killed, an idle timeout, a proxy's) has something to read:
    the end of the stream, or the server's last message. Only such a connection, one not idle
    in a clean state, or one whose descriptor is gone, is checked the expensive way; which
    fails, for a broken one.
    """
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):  # closed: the check below raises
        readable = [True]
    idle = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if readable or not idle or connection.closed:
        psycopg_pool.ConnectionPool.check_connection(connection)


ENGINE = "postgresql"
"""The engine's name, and its folder of migrations."""

DEFAULT_POOL_SIZE = 10
"""Connections the pool may open at most."""

DEFAULT_WAIT_TIMEOUT_S = 10.0
"""How long a call waits for a connection, or a statement for a lock, before it gives up."""

DEFAULT_CONNECT_TIMEOUT_S = 5
"""How long opening one connection to the server may take."""

RECONNECT_TRY_S = 2.0
"""How long the pool keeps trying to open one connection (its backoff) before a new try."""

AWAY_WAIT_S = 1.0
"""How long a call waits for a connection while the server is away (a connection broke or could
not be opened since the last one that worked): a store that is down answers each call within
a second, rather than after the whole wait (``DEFAULT_WAIT_TIMEOUT_S``), which is for a pool
whose connections are all busy."""

MIGRATION_LOCK = zlib.crc32(b"corral.schema_migrations")
"""The ``pg_advisory_lock`` key held while migrating: openers of one database migrate in turn."""


def utc(value: datetime) -> datetime:
    """A timestamp read from the server, in UTC (the connections' time zone)."""
    return value.astimezone(UTC)


def _parsed(value: Any) -> Any:
    return value  # JSONB comes back parsed


class PostgresBase(SealingBase[PgConnection]):
    """The connection pool, transactions and shared lookups of the PostgreSQL engine.

    Thread-safe: each call borrows a pooled connection for one transaction. Write transactions
    run at READ COMMITTED and lock the rows they read before changing them where a read decides
    the write (``FOR NO KEY UPDATE``, which leaves inserts of rows that reference them free);
    read transactions are REPEATABLE READ, one snapshot for several queries, as a SQLite read
    transaction is.
    """

    _codec = Codec(stamp=utc, json=_parsed)
    _by_code_point = ' COLLATE "C"'
    _row_lock = " FOR NO KEY UPDATE"

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        max_log_lines: int = DEFAULT_MAX_LOG_LINES,
        pool_size: int = DEFAULT_POOL_SIZE,
        wait_timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
        connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        """Opens the pool, and creates or migrates the schema (once among concurrent openers).

        Args:
            url: the database's connection URL (``postgresql://user:password@host/db``).
            clock: the time source; UTC now by default.
            max_log_lines: log lines kept per run; later lines are counted, not stored.
            pool_size: connections the pool may open at most.
            wait_timeout_s: how long a call waits for a free connection, and a statement for a
                lock, before it fails with ``Unavailable``.
            connect_timeout_s: how long opening one connection may take.

        Raises:
            Unavailable: code ``storage_unavailable``, the server cannot be reached or refuses
                the connection.
            InvalidRequest: code ``database_too_new``, the schema has migrations this build
                does not know (a newer corral migrated it).
        """
        self._clock = clock or utc_now
        self._records_analyzer = Analyzer(self._analyze_records)
        self._max_log_lines = max_log_lines
        self._closed = False
        self._wait_timeout_s = wait_timeout_s
        self._away = False
        """The server went away (a connection broke, or could not be opened): calls wait for
        a connection :data:`AWAY_WAIT_S` at most, until a connection is opened or a call
        commits again."""
        self._close_lock = threading.Lock()
        lock_timeout_ms = int(wait_timeout_s * 1000)
        self._pool: psycopg_pool.ConnectionPool[PgConnection] = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            timeout=wait_timeout_s,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "connect_timeout": connect_timeout_s,
                # random_page_cost 1.1 (PostgreSQL's default is 4, a spinning disk's): corral's
                # reads are key lookups of rows the server keeps in memory. At 4 the planner
                # took a batch's 1,000 lookups in a scope of 21,000 records as a scan of the
                # whole scope (5-7 ms, growing with the scope) over 1,000 index probes (3 ms).
                "options": (
                    f"-c TimeZone=UTC -c lock_timeout={lock_timeout_ms} -c random_page_cost=1.1"
                ),
            },
            connection_class=psycopg.Connection[DictRow],
            # A connection is checked as it is taken, so a broken one (the server restarted
            # since) is thrown away, never handed out; without a round trip when nothing says
            # it broke (``check_connection``).
            check=check_connection,
            # The pool tries again to connect with backoff (1 s, 2 s...), then gives up that
            # try; the next call that needs a connection starts a new one at once. Short tries
            # keep the backoff short: a call finds the server within a second of its return.
            reconnect_timeout=RECONNECT_TRY_S,
            reconnect_failed=self._reconnect_failed,
            configure=self._connected,
            open=False,
            name="corral-storage",
        )
        try:
            self._pool.open(wait=True, timeout=wait_timeout_s)
            self._migrate()
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise Unavailable(
                f"the database cannot be reached: {exc}", code="storage_unavailable", retryable=True
            ) from exc
        except BaseException:
            self._pool.close()
            raise

    def use_secrets(self, box: SecretBox) -> int:
        """Seals secrets with ``box`` from now on, and every stored one with its current key;
        the number of values written again (``orchestrator.storage._sealing``).

        Raises:
            InvalidRequest: ``secrets_key_wrong``, a stored secret was sealed with a key the
                box does not hold (nothing is changed).
            SecretUnreadable: a stored secret does not open for its row (moved or altered).
        """
        return self._seal_stored(box)

    def _analyze_records(self) -> None:
        """Takes fresh planner statistics of ``records`` (``_fresh_statistics``)."""
        if self._closed:
            return
        with self._statement() as connection:
            connection.execute("ANALYZE records")

    def close(self) -> None:
        """Closes the pool; the store cannot be used afterwards."""
        with self._close_lock:
            self._closed = True
        self._pool.close()

    def _connected(self, _connection: PgConnection) -> None:
        """The pool opened a connection: the server is there."""
        self._away = False

    def _reconnect_failed(self, pool: psycopg_pool.ConnectionPool[Any]) -> None:
        """The pool gave up a try to connect (it tries anew when a call needs a connection)."""
        self._away = True
        _log.warning("the database cannot be reached; the next call tries again", pool=pool.name)

    def _now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _write(self) -> Iterator[PgConnection]:
        """A write transaction: commits on success, rolls back on any error."""
        with self._transaction("BEGIN ISOLATION LEVEL READ COMMITTED") as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[PgConnection]:
        """A read transaction: one consistent snapshot for several queries."""
        with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") as connection:
            yield connection

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[PgConnection]:
        with self._connection() as (connection, committing):
            connection.execute(begin)
            try:
                yield connection
            except BaseException:
                _roll_back(connection)
                raise
            committing.append(True)
            connection.execute("COMMIT")

    @contextmanager
    def _statement(self) -> Iterator[PgConnection]:
        """A pooled connection for one autocommitted statement, with the engine's typed
        errors."""
        with self._connection() as (connection, _committing):
            yield connection

    @contextmanager
    def _connection(self) -> Iterator[tuple[PgConnection, list[bool]]]:
        """A pooled connection, and a list to append to when the COMMIT is sent; the errors of
        the server and of the pool, typed.

        The wait for a connection is the store's, or a second while the server is away, and
        never past the caller's deadline (``orchestrator.storage._waits``).
        """
        if self._closed:
            raise Unavailable("storage is closed", code="storage_closed", retryable=False)
        committing: list[bool] = []
        wait = AWAY_WAIT_S if self._away else self._wait_timeout_s
        try:
            with self._pool.connection(timeout=wait_seconds(wait)) as connection:
                yield connection, committing
            self._away = False
        # The pool's errors first: they are OperationalErrors too.
        except psycopg_pool.PoolClosed as exc:
            raise Unavailable("storage is closed", code="storage_closed", retryable=False) from exc
        except psycopg_pool.PoolTimeout as exc:
            if self._closed:
                raise Unavailable(
                    "storage is closed", code="storage_closed", retryable=False
                ) from exc
            raise Unavailable(
                f"no database connection within the wait: {exc}",
                code="storage_unavailable",
                retryable=True,
                details={"reason": SERVER_UNREACHABLE},
            ) from exc
        except psycopg.OperationalError as exc:
            error = _unavailable(exc, committing=bool(committing))
            if error.code == "storage_unavailable":
                self._away = True
            raise error from exc
        except psycopg.DataError as exc:
            raise unstorable(exc) from None

    # ---- migrations ----

    def _migrate(self) -> None:
        """Applies the pending migrations, each in its own transaction with its row.

        The advisory lock makes openers of one database take turns: the first applies what is
        pending, the next find nothing left to do.
        """
        with self._pool.connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                connection.execute(SCHEMA_MIGRATIONS_TABLE)
                rows = connection.execute("SELECT version FROM schema_migrations").fetchall()
                applied = {int(row["version"]) for row in rows}
                known = load_migrations(ENGINE)
                newer = sorted(applied - {migration.version for migration in known})
                if newer:
                    raise InvalidRequest(
                        f"the database's schema is newer than this build knows (migration"
                        f" {newer[-1]}, this build knows up to {known[-1].version}): run the"
                        " corral version that migrated it, or a newer one",
                        code="database_too_new",
                    )
                for migration in known:
                    if migration.version not in applied:
                        _apply(connection, migration)
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    # ---- lookups shared by the mixins ----

    def _require_environment(self, connection: PgConnection, env_id: int) -> None:
        row = connection.execute("SELECT 1 FROM environments WHERE id = %s", (env_id,)).fetchone()
        if row is None:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment")

    def _integration_pk(
        self, connection: PgConnection, env_id: int, key: str, *, lock: bool = False
    ) -> int:
        row = (
            None
            if NUL in key
            else connection.execute(
                _INTEGRATION_PK_FOR_UPDATE if lock else _INTEGRATION_PK,
                (env_id, key),
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"no integration {key!r}", code="unknown_integration")
        return int(row["id"])

    def _connection_pk(
        self, connection: PgConnection, env_id: int, connection_id: str, *, lock: bool = False
    ) -> int:
        row = (
            None
            if NUL in connection_id
            else connection.execute(
                _CONNECTION_PK_FOR_UPDATE if lock else _CONNECTION_PK,
                (env_id, connection_id),
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"no connection {connection_id!r}", code="unknown_connection")
        return int(row["id"])

    # ---- the dialect (``orchestrator.storage._engine``): shared SQL is written with ``?`` ----

    def _fetch_one(self, conn: PgConnection, sql: str, params: Params = ()) -> Row | None:
        return conn.execute(dialect(sql), params).fetchone()

    def _read_one(self, sql: str, params: Params = ()) -> Row | None:
        # Autocommitted: one statement sees one snapshot anyway, and the BEGIN and COMMIT
        # of a read transaction are two more round trips to the server.
        with self._statement() as conn:
            return self._fetch_one(conn, sql, params)

    def _write_one(self, sql: str, params: Params = ()) -> Row | None:
        # Autocommitted, one round trip instead of three. Once the statement is sent its
        # outcome is that of a COMMIT sent: a connection lost before the answer leaves it
        # unknown (``COMMIT_UNKNOWN``), never "not done".
        with self._connection() as (conn, committing):
            committing.append(True)
            return self._fetch_one(conn, sql, params)

    def _insert_in_environment(self, env_id: int, sql: str, params: Params = ()) -> Row | None:
        # The environment's foreign key checks it in the same statement (no SELECT first).
        try:
            return self._write_one(sql, params)
        except psycopg.errors.ForeignKeyViolation:
            raise NotFound(f"no environment with id {env_id}", code="unknown_environment") from None

    def _fetch_all(self, conn: PgConnection, sql: str, params: Params = ()) -> list[Row]:
        return list(conn.execute(dialect(sql), params).fetchall())

    def _exec(self, conn: PgConnection, sql: str, params: Params = ()) -> int:
        return conn.execute(dialect(sql), params).rowcount

    def _exec_many(self, conn: PgConnection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(dialect(sql), rows)

    def _stamp_in(self, value: datetime) -> datetime:
        return value

    def _not_among(self) -> str:
        return "<> ALL(?::text[])"

    def _text_list(self, values: Sequence[str]) -> list[str]:
        return list(values)

    def _json_in(self, value: Any) -> Jsonb:
        return jsonb(value)


_INTEGRATION_PK = "SELECT id FROM integrations WHERE env_id = %s AND unique_key = %s"
_INTEGRATION_PK_FOR_UPDATE = _INTEGRATION_PK + " FOR NO KEY UPDATE"
_CONNECTION_PK = "SELECT id FROM connections WHERE env_id = %s AND connection_id = %s"
_CONNECTION_PK_FOR_UPDATE = _CONNECTION_PK + " FOR NO KEY UPDATE"


def _apply(connection: PgConnection, migration: Migration) -> None:
    with connection.transaction():
        # No parameters: the whole file goes as one simple query, several statements at once.
        connection.execute(migration.sql.encode())
        connection.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
            (migration.version, migration.name, to_rfc3339(utc_now())),
        )


def _roll_back(connection: PgConnection) -> None:
    try:
        if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            connection.execute("ROLLBACK")
    except psycopg.Error:
        pass  # the connection is broken; the pool discards it when it comes back


_BUSY = ("storage_busy", "storage busy", "")
_UNAVAILABLE = ("storage_unavailable", "the database is unavailable", CONNECTION_LOST)
_RESTARTING = ("storage_unavailable", "the database is restarting", SERVER_RESTARTING)

_STORE_ERRORS: dict[str, tuple[str, str, str]] = {
    "53100": ("storage_full", "the database's disk is full", ""),
    "25006": ("storage_read_only", "the database cannot be written", ""),
    "58030": ("storage_io_error", "the database's disk failed", ""),
    "57P01": _RESTARTING,  # admin_shutdown
    "57P02": _RESTARTING,  # crash_shutdown
    "57P03": _RESTARTING,  # cannot_connect_now
    "08000": _UNAVAILABLE,
    "08003": _UNAVAILABLE,
    "08006": _UNAVAILABLE,
}
"""Typed errors by SQLSTATE, with the ``reason`` of a passing outage
(``orchestrator.storage._waits``); the rest with a SQLSTATE (locks, deadlocks, serialization,
statement timeouts, too many connections) are ``storage_busy``."""


def _unavailable(exc: psycopg.OperationalError, *, committing: bool = False) -> Unavailable:
    """The typed, retryable error of a store that cannot do its work right now.

    An error without a SQLSTATE is one of the connection itself (the server went away). One
    raised by the COMMIT itself leaves the outcome unknown (``commit_unknown``): the server may
    have committed before the connection broke.
    """
    state = exc.sqlstate
    code, what, reason = _UNAVAILABLE if state is None else _STORE_ERRORS.get(state, _BUSY)
    if committing and code == "storage_unavailable":
        what, reason = "the connection broke during the commit", COMMIT_UNKNOWN
    details = {"reason": reason} if reason else None
    return Unavailable(f"{what}: {exc}", code=code, retryable=True, details=details)


def unstorable(exc: psycopg.DataError) -> InvalidRequest:
    """The typed error of a value the database refuses to keep (SQLSTATE class 22: a NUL in
    text, ``\\u0000`` in JSONB, a number out of range...), as an answer to the caller's input.

    The server's text is logged, not answered: it quotes the value (a secret's, maybe) and
    says nothing a caller can act on. The boundaries refuse such values first with their
    field's own code (``orchestrator._text_values``); this is the net under them.
    """
    _log.warning("the database refused a value", sqlstate=exc.sqlstate, error=type(exc).__name__)
    return InvalidRequest(
        "a value could not be stored: it holds a character (such as U+0000, NUL) or a number"
        " the store cannot keep",
        code="unstorable_value",
        details={"sqlstate": exc.sqlstate} if exc.sqlstate else None,
    )


@functools.lru_cache(maxsize=256)
def dialect(sql: str) -> str:
    """Shared SQL (``?`` placeholders) as psycopg takes it (``%s``, a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def jsonb(value: Any) -> Jsonb:
    """A value to bind as a JSONB parameter (a mapping is bound as a plain dict)."""
    return Jsonb(dict(value) if isinstance(value, Mapping) else value)
