"""A ``RecordBatch`` read as hostile: its records, ids or patches for the store, or a typed error.

The SDK sends a batch as ``records_json``, one JSON array of record objects. It is parsed here
once (in C), after its size is checked, strictly as every boundary reads JSON (``corral._json``:
no ``NaN``, infinity, lone surrogate, huge integer or nesting past 128 levels, so no id the store
cannot bind), and each record is encoded again, compactly, to the
bytes the store keeps and hashes: what the store serves back is always one JSON object in UTF-8,
whatever the sender wrote (a breached worker or runner included), and the hash is the one the
SDK's encoding gives. The per-record ``records`` of older senders are still read, each a JSON
object encoded and hashed here the same way (the sender's ``content_hash`` is not read: a
runner host's hash is a claim, not a fact). A hashes-first batch (``ids_json`` and
``content_hashes``, ``batch_save`` only) carries no record: its pairs are claims the store
checks against what it holds. A batch is refused whole, with ``invalid_sync_record``, before
anything is stored.
"""

from __future__ import annotations

import hashlib
from typing import Any

from corral import _json
from corral._digests import DIGEST_BYTES
from corral._json import compact
from corral.errors import InvalidRequest
from corral.v1 import callbacks_pb2 as pb
from orchestrator.storage._areas import RecordIn

MAX_RECORDS_PER_CALL = 100_000
"""The most records (or ids) one call may carry."""

MAX_BATCH_JSON_BYTES = 16 << 20
"""The largest ``records_json``, checked before it is parsed (the SDK's ``MAX_BATCH_BYTES``)."""


MAX_MODEL_LENGTH = 255
"""The longest model name a record call may name, in characters (as the API's names)."""


def records_in(batch: pb.RecordBatch, what: str = "record") -> list[RecordIn]:
    """The batch's records, each a JSON object with its id and content hash."""
    _no_claims(batch)
    if not batch.records_json:
        ids = ids_in(batch)
        values = [_object(r.json, f"{what} {r.id[:100]!r}") for r in batch.records]
    else:
        values = _array(batch)
        ids = _value_ids(values)
    try:
        bodies = [compact(value).encode() for value in values]
    except (ValueError, UnicodeEncodeError, RecursionError):
        raise _invalid(
            f"a {what} is not storable JSON (NaN, a lone surrogate or too deep)"
        ) from None
    return list(map(RecordIn, ids, bodies, [hashlib.sha256(b).hexdigest() for b in bodies]))


def ids_in(batch: pb.RecordBatch) -> list[str]:
    """The batch's record ids (``batch_delete``: nothing else of a record is read)."""
    _no_claims(batch)
    if batch.records_json:
        return _value_ids(_array(batch))
    _limit(len(batch.records))
    ids = [record.id for record in batch.records]
    if not all(ids):
        raise _invalid("a record's id must not be empty")
    return ids


def is_hashes_first(batch: pb.RecordBatch) -> bool:
    """Whether the batch is a hashes-first one (ids and digests, no records)."""
    return bool(batch.ids_json or batch.content_hashes)


def claims_in(batch: pb.RecordBatch) -> list[tuple[str, str]]:
    """A hashes-first batch's (id, sha256 hex) pairs: its ids a JSON array of distinct
    non-empty strings, one 32-byte digest each (``orchestrator.storage``'s ``save_unchanged``
    reads them; it refuses an id holding NUL)."""
    if batch.records or batch.records_json:
        raise _invalid("a batch holds records or ids and hashes, not both")
    if len(batch.ids_json) > MAX_BATCH_JSON_BYTES:
        raise _invalid(f"a batch's ids_json is at most {MAX_BATCH_JSON_BYTES} bytes")
    ids = _parsed(batch.ids_json, "ids_json", default=[])
    if not isinstance(ids, list) or not all(type(i) is str and i for i in ids):
        raise _invalid("ids_json must be a JSON array of non-empty strings")
    _limit(len(ids))
    digests = batch.content_hashes
    if len(digests) != DIGEST_BYTES * len(ids):
        raise _invalid(f"content_hashes must hold one {DIGEST_BYTES}-byte digest per id")
    if len(set(ids)) != len(ids):
        raise _invalid("a hashes-first batch names a record id twice")
    text = digests.hex()
    width = 2 * DIGEST_BYTES
    return [(i, text[n * width : (n + 1) * width]) for n, i in enumerate(ids)]


def _no_claims(batch: pb.RecordBatch) -> None:
    if is_hashes_first(batch):
        raise _invalid("only batch_save takes ids and hashes first")


def _array(batch: pb.RecordBatch) -> list[dict[str, Any]]:
    data = batch.records_json
    if batch.records:
        raise _invalid("a batch holds records or records_json, not both")
    if len(data) > MAX_BATCH_JSON_BYTES:
        raise _invalid(f"a batch's records_json is at most {MAX_BATCH_JSON_BYTES} bytes")
    values = _parsed(data, "records_json")
    if not isinstance(values, list):
        raise _invalid("records_json must be a JSON array of records")
    _limit(len(values))
    if not all(isinstance(value, dict) for value in values):
        raise _invalid("a record is not a JSON object")
    return values


def _value_ids(values: list[dict[str, Any]]) -> list[str]:
    ids = [value.get("id") for value in values]
    if not all((type(i) is str and i) or type(i) is int for i in ids):
        raise _invalid("a record id must be a non-empty string or an integer")
    return [i if type(i) is str else str(i) for i in ids]


def _limit(count: int) -> None:
    if count > MAX_RECORDS_PER_CALL:
        raise _invalid(f"at most {MAX_RECORDS_PER_CALL} records per call")


def _object(data: bytes, what: str) -> dict[str, Any]:
    value = _parsed(data, what)
    if not isinstance(value, dict):
        raise _invalid(f"{what} is not a JSON object")
    return value


def _parsed(data: bytes, what: str, default: Any = None) -> Any:
    """``data`` read as strict JSON (``corral._json``); refused as ``invalid_sync_record``."""
    try:
        return _json.loads(data, what=what, default=default)
    except InvalidRequest as err:
        raise _invalid(err.message) from None


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="invalid_sync_record")
