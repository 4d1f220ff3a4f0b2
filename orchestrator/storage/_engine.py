"""What engine-neutral storage code asks of an engine: a tiny dialect interface.

Each storage area's semantics (its docstrings, input checks, row mapping, error mapping and
control flow) is written once, in ``_area_<area>.py``, against ``EngineBase``. An engine (SQLite
in ``_sqlite_base``, PostgreSQL in ``_pg_base``) implements these few methods, and each of its
``_<engine>_<area>.py`` modules holds only what is its own: the SQL where the dialects differ,
and its own mechanisms (PostgreSQL's row and advisory locks, sequences and bulk upserts;
SQLite's single writer).

Shared SQL is written with ``?`` placeholders; an engine whose driver wants another form
translates it (PostgreSQL: ``%s``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar

from orchestrator.storage._rows import Codec, Row

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""

DEFAULT_MAX_LOG_LINES = 10_000
"""Log lines kept per run unless the store is told otherwise."""


def utc_now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


C = TypeVar("C")
"""An engine's connection type."""

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]
"""The parameters of one statement."""


class EngineBase(ABC, Generic[C]):
    """Transactions, statements and value conversions of one engine."""

    _clock: Clock
    _max_log_lines: int

    _codec: ClassVar[Codec]
    """How the engine's stored timestamps and JSON read back (``orchestrator.storage._rows``)."""

    _by_code_point: ClassVar[str] = ""
    """What follows a text column in ORDER BY so that it sorts by code point."""

    _row_lock: ClassVar[str] = ""
    """What ends a SELECT that locks the rows it reads until the transaction ends (none where
    the write transaction is the one writer)."""

    def _locking(self, sql: str) -> str:
        """A shared SELECT that locks the rows it reads (``_row_lock``)."""
        return sql + self._row_lock

    @abstractmethod
    def _write(self) -> AbstractContextManager[C]:
        """A write transaction: commits on success, rolls back on any error."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[C]:
        """A read transaction: one consistent snapshot for several queries."""

    @abstractmethod
    def _fetch_one(self, conn: C, sql: str, params: Params = ()) -> Row | None:
        """The first row of a shared (``?``) statement, None when it returns none."""

    def _read_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of one shared (``?``) statement read alone: a read that needs no
        snapshot beyond its own statement's (an engine may save the transaction's round
        trips)."""
        with self._read() as conn:
            return self._fetch_one(conn, sql, params)

    def _write_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of one shared (``?``) statement that writes, run alone (an engine may
        autocommit it)."""
        with self._write() as conn:
            return self._fetch_one(conn, sql, params)

    def _insert_in_environment(self, env_id: int, sql: str, params: Params = ()) -> Row | None:
        """The first row of one INSERT, run alone, of a row whose one reference is environment
        ``env_id``: NotFound ``unknown_environment`` when it does not exist."""
        with self._write() as conn:
            self._require_environment(conn, env_id)
            return self._fetch_one(conn, sql, params)

    @abstractmethod
    def _fetch_all(self, conn: C, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a shared (``?``) statement."""

    @abstractmethod
    def _exec(self, conn: C, sql: str, params: Params = ()) -> int:
        """Runs a shared (``?``) statement; the rows it changed."""

    @abstractmethod
    def _exec_many(self, conn: C, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Runs a shared (``?``) statement once for each row of parameters."""

    @abstractmethod
    def _now(self) -> object:
        """The current time, as the engine binds timestamps."""

    @abstractmethod
    def _stamp_in(self, value: datetime) -> object:
        """A timestamp as the engine binds it."""

    @abstractmethod
    def _not_among(self) -> str:
        """What follows a text column in a condition that it is none of the values of one
        ``_text_list`` parameter."""

    @abstractmethod
    def _text_list(self, values: Sequence[str]) -> object:
        """A list of texts as the engine binds it for ``_not_among``."""

    @abstractmethod
    def _json_in(self, value: Any) -> object:
        """A JSON value (a mapping is bound as a plain object) as the engine binds it."""

    # ---- lookups shared by the areas ----

    @abstractmethod
    def _require_environment(self, connection: C, env_id: int) -> None:
        """Raises NotFound ``unknown_environment`` unless the environment exists."""

    @abstractmethod
    def _integration_pk(self, connection: C, env_id: int, key: str, *, lock: bool = False) -> int:
        """An integration's row id (NotFound ``unknown_integration``); with ``lock``, its row
        locked until the transaction ends, where the engine locks rows."""

    @abstractmethod
    def _connection_pk(
        self, connection: C, env_id: int, connection_id: str, *, lock: bool = False
    ) -> int:
        """A connection's row id (NotFound ``unknown_connection``); with ``lock``, its row
        locked until the transaction ends, where the engine locks rows."""
