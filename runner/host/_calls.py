"""What a worker may ask of the orchestrator: any RunnerCallbacks RPC, with its request checked.

A worker's SDK call names an RPC of the RunnerCallbacks service and carries that RPC's request
message, serialized. The allow-list is the service's own descriptor, so an RPC added to the
proto is callable with no change here. The request is parsed into the RPC's request type and
read as hostile, field by field with no list of messages: no unknown field; every JSON-bearing
field (a bytes field named ``json`` or ``*_json``, or a bytes field ``x`` whose ``x_is_json``
is set) strict JSON by the rules of ``corral._json`` (UTF-8, no NaN or infinity, no lone
surrogate, at most ``MAX_DEPTH`` levels); every record (a message with an ``id`` and a
``json``) an object whose ``id`` is a non-empty string or an integer, the one the message
names; a ``records_json`` an array of such objects; an ``ids_json`` an array of distinct
non-empty strings with one 32-byte digest each in ``content_hashes``. Anything else is
``worker_protocol_violation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from corral import _json
from corral._digests import DIGEST_BYTES
from corral.errors import InvalidRequest, RunFailure
from corral.v1 import callbacks_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["RunnerCallbacks"]
"""The service a worker's calls go to."""

WORKER_RPCS: frozenset[str] = frozenset(SERVICE.methods_by_name)
"""The RPCs a worker may call: every RPC of the service (all of them are SDK operations)."""

_REQUEST_TYPES: dict[str, type[Message]] = {
    name: getattr(pb, method.input_type.name) for name, method in SERVICE.methods_by_name.items()
}

_RESPONSE_TYPES: dict[str, type[Message]] = {
    name: getattr(pb, method.output_type.name) for name, method in SERVICE.methods_by_name.items()
}


@dataclass(frozen=True)
class Serialized:
    """An RPC's response as the protobuf bytes the orchestrator sent, passed to the worker as
    they are (``runner.host._forward``): a proxied body of tens of MB is never parsed and
    serialised again in the runner. The worker reads them as ``rpc``'s response type."""

    rpc: str
    data: bytes


def check_response(rpc: str, response: object) -> Message | Serialized:
    """``response`` when it is ``rpc``'s response type (or its bytes); what goes back to the
    worker is only ever the message the service declares.

    Raises:
        RunFailure: ``runner_error``, the callback handler answered with something else.
    """
    if isinstance(response, Serialized) and response.rpc == rpc:
        return response
    expected = _RESPONSE_TYPES[rpc]
    if type(response) is not expected:
        raise RunFailure(
            "runner_error",
            f"the callback service answered {rpc} with a {type(response).__name__},"
            f" not a {expected.__name__}",
        )
    assert isinstance(response, Message)  # noqa: S101 - expected is a message type
    return response


class WorkerProtocolViolation(RunFailure):
    """A worker sent something no honest worker sends (code ``worker_protocol_violation``)."""

    def __init__(self, message: str) -> None:
        super().__init__("worker_protocol_violation", f"the worker broke the protocol: {message}")


ID_RULE = "a record id must be a non-empty string or an integer"


def parse_request(rpc: str, data: bytes) -> Message:
    """The request of a worker's call to ``rpc``, parsed and checked.

    Raises:
        WorkerProtocolViolation: the RPC is not on the allow-list, or the bytes are not a
            well-formed request of its type.
    """
    request_type = _REQUEST_TYPES.get(rpc) if rpc in WORKER_RPCS else None
    if request_type is None:
        raise WorkerProtocolViolation(f"unknown RPC {rpc[:40]!r}")
    try:
        request = request_type.FromString(data)
    except DecodeError as exc:
        raise WorkerProtocolViolation(f"a malformed {rpc} request ({exc})") from None
    _check(request)
    return request


def _check(message: Message) -> None:
    if len(UnknownFieldSet(message)):
        raise WorkerProtocolViolation(f"unknown fields in a {message.DESCRIPTOR.name}")
    fields = {field.name: value for field, value in message.ListFields()}
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if _repeated(field) else [value]
            for item in items:
                _check(item)
        elif field.type == FieldDescriptor.TYPE_BYTES and _is_json(field.name, fields):
            parsed = _strict(value, f"{message.DESCRIPTOR.name}.{field.name}")
            if field.name == "records_json":
                _check_record_array(parsed)
            elif field.name == "ids_json":
                _check_hashes_first(parsed, fields.get("content_hashes", b""))
    if "content_hashes" in fields and "ids_json" not in fields:
        raise WorkerProtocolViolation("content_hashes without ids_json")
    if {"id", "json"} <= {field.name for field in message.DESCRIPTOR.fields}:
        _check_record(message)


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _is_json(name: str, fields: dict[str, Any]) -> bool:
    return name == "json" or name.endswith("_json") or fields.get(f"{name}_is_json") is True


def _strict(data: bytes, what: str) -> Any:
    try:
        return _json.loads(data, what=what)
    except InvalidRequest as exc:
        raise WorkerProtocolViolation(exc.message) from None


def _check_record(record: Any) -> None:
    value = _strict(record.json, "a record")
    if not isinstance(value, dict):
        raise WorkerProtocolViolation("a record must be an object")
    record_id = value.get("id")
    if not valid_record_id(record_id):
        raise WorkerProtocolViolation(ID_RULE)
    if str(record_id) != record.id:
        raise WorkerProtocolViolation("a record's id is not the id in its JSON")


def _check_record_array(value: Any) -> None:
    """A batch's ``records_json``: an array of objects, each with a valid ``id``."""
    if not isinstance(value, list):
        raise WorkerProtocolViolation("records_json must be an array of records")
    if not all(isinstance(item, dict) for item in value):
        raise WorkerProtocolViolation("a record must be an object")
    if not all(valid_record_id(item.get("id")) for item in value):
        raise WorkerProtocolViolation(ID_RULE)


def _check_hashes_first(ids: Any, digests: bytes) -> None:
    """A hashes-first batch: ``ids_json`` an array of distinct non-empty strings, and one
    32-byte digest for each in ``content_hashes``."""
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise WorkerProtocolViolation("ids_json must be an array of non-empty strings")
    if len(set(ids)) != len(ids):
        raise WorkerProtocolViolation("ids_json names a record id twice")
    if len(digests) != DIGEST_BYTES * len(ids):
        raise WorkerProtocolViolation(
            f"content_hashes must hold one {DIGEST_BYTES}-byte digest per id"
        )


def valid_record_id(value: Any) -> bool:
    """Whether ``value`` is a record id: a non-empty string or an integer (not a boolean)."""
    return (isinstance(value, str) and value != "") or type(value) is int
