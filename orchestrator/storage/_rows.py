"""Stored rows as the storage types, for every engine.

An engine's rows differ only in how two kinds of values come back: timestamps (SQLite: RFC 3339
text; PostgreSQL: TIMESTAMPTZ) and JSON (SQLite: text; PostgreSQL: JSONB, already parsed). Each
engine gives a ``Codec`` for those; the mapping of columns to fields is written once here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orchestrator.storage._records import encode_cursor
from orchestrator.storage._types import (
    Connection,
    Environment,
    FunctionRow,
    Integration,
    LogLine,
    Run,
    Schedule,
    StoredRecord,
)


def dumps(value: Any) -> str:
    """Compact JSON text that keeps key order and non-ASCII characters."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    """Parses JSON text stored by ``dumps``; None stays None."""
    return None if text is None else json.loads(text)


class Row(Protocol):
    """A fetched row: its columns by name (``sqlite3.Row``, psycopg's dict rows)."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class Codec:
    """How one engine's stored timestamps and JSON values read back."""

    stamp: Callable[[Any], datetime]
    """A stored timestamp as an aware datetime in UTC."""
    json: Callable[[Any], Any]
    """A stored JSON value, parsed; None stays None."""

    def stamp_or_none(self, value: Any) -> datetime | None:
        """A stored timestamp, or None for NULL."""
        return None if value is None else self.stamp(value)


def returned(row: Row | None) -> Row:
    """The row of an ``INSERT ... RETURNING`` that always returns one."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


def environment(row: Row, codec: Codec) -> Environment:
    """An ``environments`` row."""
    return Environment(
        id=int(row["id"]),
        name=row["name"],
        settings=codec.json(row["settings"]),
        created_at=codec.stamp(row["created_at"]),
    )


def integration(row: Row, codec: Codec) -> Integration:
    """An ``integrations`` row."""
    return Integration(
        env_id=int(row["env_id"]),
        unique_key=row["unique_key"],
        provider=row["provider"],
        base_url=row["base_url"],
        auth_mode=row["auth_mode"],
        auth_config=codec.json(row["auth_config"]),
        created_at=codec.stamp(row["created_at"]),
        updated_at=codec.stamp(row["updated_at"]),
    )


def connection(row: Row, codec: Codec) -> Connection:
    """A ``connections`` row joined to its integration's ``unique_key``, ``provider``,
    ``auth_mode`` and ``base_url``."""
    return Connection(
        env_id=int(row["env_id"]),
        connection_id=row["connection_id"],
        integration_key=row["unique_key"],
        provider=row["provider"],
        auth_mode=row["auth_mode"],
        credentials=codec.json(row["credentials"]),
        connection_config=codec.json(row["connection_config"]),
        metadata=codec.json(row["metadata"]),
        base_url=row["base_url"],
        created_at=codec.stamp(row["created_at"]),
        updated_at=codec.stamp(row["updated_at"]),
    )


def function(row: Row, codec: Codec) -> FunctionRow:
    """A ``functions`` row joined to its integration's ``unique_key``."""
    return FunctionRow(
        name=row["name"],
        kind=row["kind"],
        version=row["version"],
        description=row["description"],
        config=codec.json(row["config"]),
        files=codec.json(row["files"]),
        entry=row["entry"],
        code_hash=row["code_hash"],
        integration_key=row["unique_key"],
        deployed_at=codec.stamp(row["deployed_at"]),
    )


def run(row: Row, codec: Codec) -> Run:
    """A ``runs`` row."""
    return Run(
        run_id=row["run_id"],
        env_id=int(row["env_id"]),
        function_name=row["function_name"],
        integration_key=row["integration_key"],
        kind=row["kind"],
        connection_id=row["connection_id"],
        variant=row["variant"],
        state=row["state"],
        input_json=row["input_json"],
        output_json=row["output_json"],
        error=codec.json(row["error"]),
        parent_run_id=row["parent_run_id"],
        created_at=codec.stamp(row["created_at"]),
        started_at=codec.stamp_or_none(row["started_at"]),
        finished_at=codec.stamp_or_none(row["finished_at"]),
        logs_dropped=int(row["logs_dropped"]),
    )


def log_line(row: Row, codec: Codec) -> LogLine:
    """A ``run_logs`` row."""
    return LogLine(
        level=row["level"],
        message=row["message"],
        meta_json=row["meta_json"],
        timestamp=codec.stamp(row["timestamp"]),
        seq=int(row["seq"]),
    )


def schedule(row: Row, codec: Codec) -> Schedule:
    """A ``schedules`` row joined to its connection's ``connection_id`` and ``env_id``."""
    return Schedule(
        schedule_id=int(row["id"]),
        env_id=int(row["env_id"]),
        connection_id=str(row["connection_id"]),
        sync_name=str(row["sync_name"]),
        variant=str(row["variant"]),
        state=str(row["state"]),
        frequency_seconds=float(row["frequency_seconds"]),
        next_run_at=codec.stamp(row["next_run_at"]),
        last_run_id=None if row["last_run_id"] is None else str(row["last_run_id"]),
        frequency_override_seconds=_optional_float(row["frequency_override_seconds"]),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def stored_record(row: Row, codec: Codec) -> StoredRecord:
    """A ``records`` row."""
    return StoredRecord(
        id=row["record_id"],
        json=bytes(row["json"]),
        first_seen_at=codec.stamp(row["first_seen_at"]),
        last_modified_at=codec.stamp(row["last_modified_at"]),
        last_action=row["last_action"],
        deleted_at=codec.stamp_or_none(row["deleted_at"]),
        cursor=encode_cursor(int(row["cursor"])),
    )
