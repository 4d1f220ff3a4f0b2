"""What a worker may send: every frame checked as the public API checks input.

A worker runs untrusted code and may be breached: whatever it sends is read as hostile. A frame
is UTF-8 JSON with no NaN or infinity, no lone surrogate and at most ``MAX_DEPTH`` levels of
nesting (the rules of ``corral._json``), and it is one of the messages of ``runner._protocol``
with fields of their types. A call's request is a RunnerCallbacks request message, checked by
``runner.host._calls`` (allowed RPC, well-formed message, strict JSON fields, record ids).
Anything else ends the run with ``worker_protocol_violation``: it never reaches the store or
the caller.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from corral import _json
from corral.errors import InvalidRequest
from runner.host._calls import WorkerProtocolViolation, parse_request

MAX_LINE = 2**31 - 1


def parse(data: bytes | bytearray) -> dict[str, Any]:
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


def _check_call(message: dict[str, Any]) -> None:
    """A call: an integer id, the RPC's name and its request (base64 of the protobuf bytes),
    which is parsed and checked here (``runner.host._calls``) and put in the message in its
    place."""
    _require(_is_int(message.get("id")), "a call's id must be an integer")
    rpc: Any = message.get("rpc")
    encoded: Any = message.get("request")
    _require(isinstance(rpc, str), "a call names no RPC")
    _require(isinstance(encoded, str), "a call's request must be base64 text")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise WorkerProtocolViolation("a call's request is not base64") from None
    message["request"] = parse_request(rpc, data)


def _check_done(message: dict[str, Any]) -> None:
    ok = message.get("ok")
    _require(isinstance(ok, bool), "done must say ok: true or false")
    if ok:
        return
    error: Any = message.get("error")
    _require(isinstance(error, dict), "a failed run's error must be an object")
    _check_error_fields(error)


def _check_violation(message: dict[str, Any]) -> None:
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


_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "call": _check_call,
    "done": _check_done,
    "violation": _check_violation,
}


def _is_int(value: Any) -> bool:
    return type(value) is int


def _text(value: Any, *, empty: bool = False) -> bool:
    return isinstance(value, str) and (empty or bool(value))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise WorkerProtocolViolation(message)
