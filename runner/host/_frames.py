"""What a worker may send: every frame checked as the public API checks input.

A worker runs untrusted code and may be breached: whatever it sends is read as hostile. A frame
is UTF-8 JSON with no NaN or infinity, no lone surrogate and at most ``MAX_DEPTH`` levels of
nesting (the rules of ``corral._json``), and it is one of the messages of ``runner._protocol``
with fields of their types. Record ids in the record calls are non-empty strings or integers.
Anything else ends the run with ``worker_protocol_violation``: it never reaches the store or
the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import _json
from corral.errors import InvalidRequest, RunFailure

MAX_LINE = 2**31 - 1

_RECORD_CALLS = frozenset({"batch_save", "batch_update", "batch_delete"})


class WorkerProtocolViolation(RunFailure):
    """A worker sent something no honest worker sends (code ``worker_protocol_violation``)."""

    def __init__(self, message: str) -> None:
        super().__init__("worker_protocol_violation", f"the worker broke the protocol: {message}")


def parse(data: bytes) -> dict[str, Any]:
    """One worker frame's message, checked.

    Raises:
        WorkerProtocolViolation: the frame is not strict JSON, or not a well-formed message.
    """
    try:
        message = _json.loads(data, what="a worker message")
    except InvalidRequest as exc:
        raise WorkerProtocolViolation(exc.message) from None
    if not isinstance(message, dict):
        raise WorkerProtocolViolation("a message must be a JSON object")
    op = message.get("op")
    check = _CHECKS.get(op) if isinstance(op, str) else None
    if check is None:
        raise WorkerProtocolViolation(f"unknown message {str(op)[:40]!r}")
    check(message)
    return message


def _check_call(message: Mapping[str, Any]) -> None:
    _require(_is_int(message.get("id")), "a call's id must be an integer")
    method: Any = message.get("method")
    args: Any = message.get("args")
    _require(isinstance(method, str) and method.isidentifier(), "a call names no method")
    _require(isinstance(args, dict), "a call's arguments must be an object")
    if method in _RECORD_CALLS:
        records = args.get("records")
        _require(isinstance(records, list), f"{method} needs a list of records")
        for record in records:
            _require(isinstance(record, dict), "a record must be an object")
            _require(valid_record_id(record.get("id")), _ID_RULE)
    if method == "get_records_by_id":
        ids = args.get("ids")
        _require(isinstance(ids, list) and all(map(_is_key, ids)), "ids must be strings")


def _check_done(message: Mapping[str, Any]) -> None:
    ok = message.get("ok")
    _require(isinstance(ok, bool), "done must say ok: true or false")
    if ok:
        return
    error: Any = message.get("error")
    _require(isinstance(error, dict), "a failed run's error must be an object")
    _check_error_fields(error)


def _check_violation(message: Mapping[str, Any]) -> None:
    _require(_text(message.get("rule")), "a violation names its rule")
    _require(_text(message.get("message"), empty=True), "a violation's message must be text")
    _check_location(message)


def _check_error_fields(error: Mapping[str, Any]) -> None:
    _require(_text(error.get("type")), "an error's type must be text")
    _require(_text(error.get("message"), empty=True), "an error's message must be text")
    _check_location(error)


def _check_location(fields: Mapping[str, Any]) -> None:
    file, line = fields.get("file", ""), fields.get("line", 0)
    _require(_text(file, empty=True), "a file name must be text")
    _require(_is_int(line) and 0 <= line <= MAX_LINE, "a line must be a non-negative integer")


_ID_RULE = "a record id must be a non-empty string or an integer"

_CHECKS = {"call": _check_call, "done": _check_done, "violation": _check_violation}


def valid_record_id(value: Any) -> bool:
    """Whether ``value`` is a record id: a non-empty string or an integer (not a boolean)."""
    return (isinstance(value, str) and value != "") or _is_int(value)


def _is_key(value: Any) -> bool:
    return isinstance(value, str) or _is_int(value)


def _is_int(value: Any) -> bool:
    return type(value) is int


def _text(value: Any, *, empty: bool = False) -> bool:
    return isinstance(value, str) and (empty or bool(value))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise WorkerProtocolViolation(message)
