"""The SDK's calls as RunnerCallbacks messages: what the worker sends and how it reads replies.

Each SDK operation of the ``nango`` object becomes one RPC of the RunnerCallbacks service (its
name) and that RPC's request message, built here with the generated classes; the runner host
checks the message and forwards it as it is (``runner.host._calls``). A reply is the RPC's response
message, read back here into the value the SDK returns. This module runs in the worker: the
generated modules are imported by the warm parent, before containment, and function code never
reaches them (they are not among its allowed modules).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf.message import Message

from corral._digests import DIGEST_BYTES, digest
from corral._json import compact
from corral.errors import RunFailure
from corral.v1 import callbacks_pb2 as pb

MAX_BATCH_BYTES = 16 << 20
"""Record JSON sent in one RecordBatch; a larger batch goes in several calls."""

Build = Callable[[dict[str, Any]], Message]


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def record_batches(model: str, records: list[Any], max_bytes: int) -> list[pb.RecordBatch]:
    """Records as ``RecordBatch`` messages of one JSON array each (``records_json``), split into
    consecutive parts of at most ``max_bytes`` (one record each at least), so that no message
    passes the gRPC size limit or its frame the run's. The usual batch, which fits one message,
    is encoded in one call of the C encoder (the array's text is its records' joined by commas);
    a larger one a record at a time, to split it.

    Raises:
        RunFailure: ``invalid_sync_record``, a record is not an object with an id.
        ValueError, TypeError, UnicodeError: a record is not strict JSON.
    """
    if any(not isinstance(record, dict) or "id" not in record for record in records):
        raise RunFailure("invalid_sync_record", "a record must be an object with an id")
    budget = _array_budget(model, max_bytes)
    if len(records) > 1:
        whole = compact(records).encode()
        if len(whole) - 1 <= budget:  # each record's bytes and its comma or closing bracket
            return [pb.RecordBatch(model=model, records_json=whole)]
    return packed(model, [compact(record).encode() for record in records], max_bytes)


def packed(model: str, encoded: list[bytes], max_bytes: int) -> list[pb.RecordBatch]:
    """Records already encoded (compact JSON each) as ``RecordBatch`` messages of one JSON array
    each, consecutive parts of at most ``max_bytes`` (one record each at least)."""
    budget = _array_budget(model, max_bytes)
    parts: list[list[bytes]] = [[]]
    size = 0
    for data in encoded:
        if parts[-1] and size + len(data) + 1 > budget:
            parts.append([])
            size = 0
        parts[-1].append(data)
        size += len(data) + 1  # its comma, or the closing bracket
    return [
        pb.RecordBatch(model=model, records_json=b"[" + b",".join(part) + b"]") for part in parts
    ]


def _array_budget(model: str, max_bytes: int) -> int:
    """The bytes of records (with their commas) one ``records_json`` message of ``model`` may
    carry in ``max_bytes``: the model's and the array's tags left out."""
    return max(max_bytes - len(model.encode()) - 16, 1)


HASHES_FIRST_MIN = 50
"""The fewest records a batch must hold to go hashes first: a smaller one goes in full (the
extra call would cost more than its records' bytes)."""


def hashes_first(
    model: str, records: list[Any], max_bytes: int
) -> tuple[pb.RecordBatch, list[bytes]] | None:
    """A ``batch_save`` batch as its ids and the sha256 digest of each record's compact JSON
    (the bytes and hash the orchestrator would store), with those bytes, for sending the
    records the store does not hold with that hash (:func:`packed`). None when the batch goes
    in full: fewer than :data:`HASHES_FIRST_MIN` records, a record that is not an object with
    a non-empty string or integer id (the full path's error), an id twice (the last one wins
    there), or ids and digests over ``max_bytes``.

    Raises:
        ValueError, TypeError, UnicodeError: a record is not strict JSON.
    """
    if len(records) < HASHES_FIRST_MIN:
        return None
    if not all(type(record) is dict for record in records):
        return None
    ids = [record.get("id") for record in records]
    if not all((type(i) is str and i) or type(i) is int for i in ids):
        return None
    names = [i if type(i) is str else str(i) for i in ids]
    if len(set(names)) != len(names):
        return None
    ids_json = _json(names)
    if len(ids_json) + DIGEST_BYTES * len(names) + len(model.encode()) + 32 > max_bytes:
        return None  # 32: the message's tags and lengths, with room to spare
    encoded = [compact(record).encode() for record in records]
    digests = b"".join([digest(data) for data in encoded])
    return pb.RecordBatch(model=model, ids_json=ids_json, content_hashes=digests), encoded


def _proxy(args: dict[str, Any]) -> Message:
    headers = args.get("headers") or {}
    request = pb.ProxyRequest(
        method=str(args.get("method") or "GET"),
        endpoint=str(args.get("endpoint") or ""),
        headers=[pb.Header(name=str(k), value=str(v)) for k, v in dict(headers).items()],
        params_json=_json(args["params"]) if args.get("params") is not None else b"",
        retries=int(args.get("retries") or 0),
        retry_on=[int(s) for s in args.get("retry_on") or []],
        base_url_override=str(args.get("base_url_override") or ""),
        decompress=bool(args.get("decompress")),
        response_type=str(args.get("response_type") or ""),
    )
    if "data_json" in args:
        request.data, request.data_is_json, request.has_data = _json(args["data_json"]), True, True
    elif "data_text" in args:
        request.data, request.has_data = str(args["data_text"]).encode(), True
    elif "data_b64" in args:
        request.data, request.has_data = base64.b64decode(str(args["data_b64"])), True
    return request


def _log(args: dict[str, Any]) -> Message:
    return pb.LogRequest(
        level=str(args.get("level") or "info"),
        message=str(args.get("message") or ""),
        meta_json=_json(args.get("meta") or []),
        timestamp=time.time(),
    )


def _records(args: dict[str, Any]) -> Message:
    return record_batches(str(args["model"]), list(args["records"]), MAX_BATCH_BYTES)[0]


_REQUESTS: dict[str, tuple[str, Build]] = {
    "proxy": ("Proxy", _proxy),
    "log": ("Log", _log),
    "get_connection": (
        "GetConnection",
        lambda a: pb.GetConnectionCallRequest(
            force_refresh=bool(a.get("force_refresh")),
            refresh_token=bool(a.get("refresh_token")),
            refresh_github_app_jwt_token=bool(a.get("refresh_github_app_jwt_token")),
            provider_config_key_override=str(a.get("provider_config_key_override") or ""),
            connection_id_override=str(a.get("connection_id_override") or ""),
        ),
    ),
    "get_integration": (
        "GetIntegration",
        lambda a: pb.GetIntegrationCallRequest(include=[str(i) for i in a.get("include") or []]),
    ),
    "get_environment_variables": ("GetEnvironmentVariables", lambda a: pb.Empty()),
    "get_metadata": ("GetMetadata", lambda a: pb.Empty()),
    "set_metadata": ("SetMetadata", lambda a: pb.JsonValue(json=_json(a["metadata"]))),
    "update_metadata": ("UpdateMetadata", lambda a: pb.JsonValue(json=_json(a["metadata"]))),
    "get_checkpoint": ("GetCheckpoint", lambda a: pb.Empty()),
    "save_checkpoint": (
        "SaveCheckpoint",
        lambda a: pb.SaveCheckpointRequest(json=_json(a["checkpoint"])),
    ),
    "clear_checkpoint": ("ClearCheckpoint", lambda a: pb.Empty()),
    "batch_save": ("BatchSave", _records),
    "batch_delete": ("BatchDelete", _records),
    "batch_update": ("BatchUpdate", _records),
    "get_records_by_id": (
        "GetRecordsById",
        lambda a: pb.GetRecordsByIdRequest(model=str(a["model"]), ids=[str(i) for i in a["ids"]]),
    ),
    "track_deletes_start": ("TrackDeletesStart", lambda a: pb.ModelRequest(model=str(a["model"]))),
    "track_deletes_end": ("TrackDeletesEnd", lambda a: pb.ModelRequest(model=str(a["model"]))),
    "trigger_action": (
        "TriggerAction",
        lambda a: pb.TriggerActionCallRequest(
            action_name=str(a["name"]), input_json=_json(a.get("input"))
        ),
    ),
}
"""Every SDK operation: its RPC and how its arguments become that RPC's request."""


def requests(
    method: str, args: dict[str, Any], max_message: int = MAX_BATCH_BYTES
) -> Iterator[tuple[str, Message]]:
    """The RPC calls of one SDK operation: one, or several for a batch of records too large
    for one message (at most ``max_message`` and :data:`MAX_BATCH_BYTES` of records each, one
    record at least).

    Raises:
        ValueError, TypeError, UnicodeError: an argument is not strict JSON or not of its type.
    """
    rpc, build = _REQUESTS[method]
    if build is not _records:
        yield rpc, build(args)
        return
    size = min(max_message, MAX_BATCH_BYTES)
    for part in record_batches(str(args["model"]), list(args["records"]), size):
        yield rpc, part


def message_budget(max_frame: int) -> int:
    """The largest request message whose ``call`` frame (base64 in JSON) fits ``max_frame``."""
    return max((max_frame - _FRAME_OVERHEAD) * 3 // 4, 1)


_FRAME_OVERHEAD = 1024
"""Bytes of a ``call`` frame besides its request's base64 (with room to spare)."""


def batch_values(batch: pb.RecordBatch) -> list[Any]:
    """The records of a batch as values, from whichever field carries them."""
    if batch.records_json:
        return list(json.loads(batch.records_json))
    return [json.loads(record.json) for record in batch.records]


def response_type(rpc: str) -> type[Message]:
    """The generated class of an RPC's response message."""
    method = pb.DESCRIPTOR.services_by_name["RunnerCallbacks"].methods_by_name[rpc]
    response: type[Message] = getattr(pb, method.output_type.name)
    return response


def value(reply: Message) -> Any:
    """What the SDK returns for a response message."""
    if isinstance(reply, pb.JsonValue | pb.Checkpoint):
        return json.loads(reply.json) if reply.json else None
    if isinstance(reply, pb.RecordBatchResult):
        return counts(reply)
    if isinstance(reply, pb.ProxyResponse):
        return {
            "status": reply.status,
            "headers": [[h.name, h.value] for h in reply.headers],
            "body": reply.body,
            "url": reply.url,
            "method": reply.method,
        }
    return None


def counts(result: pb.RecordBatchResult) -> dict[str, int]:
    """A batch's counts as the SDK returns them."""
    return {
        "added": result.added,
        "updated": result.updated,
        "deleted": result.deleted,
        "unchanged": result.unchanged,
    }


def combine(values: list[Any]) -> Any:
    """The value of an operation sent in several calls: the counts added up (a batch)."""
    if len(values) == 1:
        return values[0]
    total = dict.fromkeys(("added", "updated", "deleted", "unchanged"), 0)
    for part in values:
        for name in total:
            total[name] += int((part or {}).get(name, 0))
    return total


def exercise() -> None:
    """Builds, serializes and reads back one message of each kind (the warm parent calls this
    before containment, so no lazy path is left for a worker)."""
    for method in ("log", "batch_save", "proxy"):
        args = {"model": "M", "records": [{"id": 1}], "endpoint": "/", "params": {}, "meta": []}
        for rpc, request in requests(method, args):
            type(request).FromString(request.SerializeToString())
            value(response_type(rpc).FromString(b""))
    value(pb.Checkpoint(json=b"{}"))
    value(pb.ProxyResponse(headers=[pb.Header(name="a", value="b")]))
