"""Record logic shared by every storage engine.

What a save does to a record, the deep merge of ``batch_update``, the encoding of list cursors
and filters, and the API view of a stored record live here so that engines only move rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from corral.errors import InvalidRequest
from orchestrator.storage._areas import ALL_RECORD_FILTERS, RecordIn, StoredRecord

SaveOutcome = Literal["inserted", "undeleted", "changed", "unchanged"]
"""What saving one record does: a new row, a deleted row alive again, new content, nothing."""

MAX_RECORD_ID_BYTES = 1024
"""The longest record id a save stores, in bytes of UTF-8 (Nango's column holds 255 characters,
which this admits in any script). A longer id in the unique index costs every lookup whose
search meets it a read of its overflow pages (one 3 MB id made a 5,000-record save of a small
scope take 7 s of the orchestrator's CPU), and PostgreSQL refuses an index row over about
2.7 KB."""

_CURSOR_PREFIX = "c1:"
MAX_CURSOR = 2**63 - 1
"""The largest change number a cursor may hold (the stores keep it as a signed 64-bit int)."""
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def classify_save(existing_hash: str | None, existing_deleted: bool, new_hash: str) -> SaveOutcome:
    """What saving a record with ``new_hash`` does to the stored one.

    A deleted record saved again (same content or not) comes back: it counts as added, its
    ``first_seen_at`` is kept and its ``last_action`` becomes UPDATED, as Nango does.

    Args:
        existing_hash: the stored record's content hash, None when there is no stored record.
        existing_deleted: whether the stored record is soft-deleted.
        new_hash: the content hash of the record being saved.
    """
    if existing_hash is None:
        return "inserted"
    if existing_deleted:
        return "undeleted"
    return "unchanged" if existing_hash == new_hash else "changed"


def last_wins(records: Sequence[RecordIn]) -> list[RecordIn]:
    """The records of one batch with one entry per id: the last one given for that id."""
    if len({record.id for record in records}) == len(records):
        return list(records)  # the usual batch: no id twice
    by_id: dict[str, RecordIn] = {}
    for record in records:
        by_id.pop(record.id, None)
        by_id[record.id] = record
    return list(by_id.values())


def content_hash(data: bytes) -> str:
    """The content hash of a record's JSON bytes: sha256, hex (as the runner computes it)."""
    return hashlib.sha256(data).hexdigest()


def dump_record(value: Mapping[str, Any]) -> bytes:
    """A record as compact JSON bytes that keep key order and non-ASCII characters."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def load_object(data: bytes | str, what: str) -> dict[str, Any]:
    """Parses a JSON object.

    Raises:
        InvalidRequest: ``data`` is not JSON or not an object.
    """
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from exc
    except RecursionError:
        raise InvalidRequest(f"{what} nests too deeply", code="invalid_json") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object", code="invalid_json")
    return value


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merges ``patch`` into ``base`` as ``batch_update`` does.

    Nested objects are merged recursively; every other value, arrays included, is replaced by
    the patch's. Fields absent from the patch stay as they are. Neither input is changed.
    """
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def merge_record(stored: bytes, patch: bytes, record_id: str) -> bytes:
    """The JSON bytes of a stored record with a partial record deep-merged into it.

    When the merge changes nothing, the stored bytes come back as they are, so the content
    hash stays the same whatever encoding the stored bytes had.
    """
    base = load_object(stored, f"stored record {record_id!r}")
    try:
        merged = deep_merge(base, load_object(patch, f"update of record {record_id!r}"))
        return stored if merged == base else dump_record(merged)
    except RecursionError:
        raise InvalidRequest(
            f"update of record {record_id!r} nests too deeply", code="invalid_json"
        ) from None


def encode_cursor(value: int) -> str:
    """An opaque cursor for a record's change number."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The change number of a cursor; "" means the start (0).

    Raises:
        InvalidRequest: code ``invalid_cursor`` for a cursor this module did not make.
    """
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        value = int(text.removeprefix(_CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid_cursor(cursor) from None
    if not 0 <= value <= MAX_CURSOR:
        raise _invalid_cursor(cursor)
    return value


def _invalid_cursor(cursor: str) -> InvalidRequest:
    shown = cursor if len(cursor) <= 80 else cursor[:60] + "..."
    return InvalidRequest(
        f"invalid cursor {shown!r}: pass a cursor from a previous page, or none",
        code="invalid_cursor",
    )


def parse_filter(values: Iterable[str] | str) -> frozenset[str]:
    """A ``list_records`` filter from names (or one comma-joined string); empty means all.

    Raises:
        InvalidRequest: code ``invalid_filter`` for a name other than added, updated, deleted.
    """
    parts = values.split(",") if isinstance(values, str) else list(values)
    names = {part.strip().lower() for part in parts if part.strip()}
    unknown = names - ALL_RECORD_FILTERS
    if unknown:
        raise InvalidRequest(
            f"unknown record filter {sorted(unknown)}; use added, updated or deleted",
            code="invalid_filter",
        )
    return frozenset(names) or ALL_RECORD_FILTERS


def filter_actions(filter_names: frozenset[str]) -> list[str]:
    """The ``last_action`` values a (validated) filter keeps."""
    return sorted(name.upper() for name in parse_filter(filter_names))


def nango_metadata(record: StoredRecord) -> dict[str, Any]:
    """The ``_nango_metadata`` object of a record, timestamps as RFC 3339 UTC text."""
    return {
        "first_seen_at": to_rfc3339(record.first_seen_at),
        "last_modified_at": to_rfc3339(record.last_modified_at),
        "last_action": record.last_action,
        "deleted_at": to_rfc3339(record.deleted_at) if record.deleted_at else None,
        "cursor": record.cursor,
    }


def api_view(record: StoredRecord) -> dict[str, Any]:
    """A record as the records API shows it: its JSON object plus ``_nango_metadata``."""
    view = load_object(record.json, f"record {record.id!r}")
    view["_nango_metadata"] = nango_metadata(record)
    return view


def to_rfc3339(value: datetime) -> str:
    """A timestamp as RFC 3339 UTC text with microseconds: ``2026-11-22T23:57:47.123456Z``.

    A naive ``datetime`` is taken to be UTC. The text sorts in time order.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def from_rfc3339(text: str) -> datetime:
    """The UTC ``datetime`` of a timestamp written by ``to_rfc3339``."""
    # fromisoformat reads the "Z" form (Python 3.11) some 40 times faster than strptime, and
    # every row a store reads has a few timestamps: it showed in the run's hot path.
    if not text.endswith("Z"):
        raise ValueError(f"not an RFC 3339 UTC timestamp: {text!r}")
    return datetime.fromisoformat(text).astimezone(UTC)
