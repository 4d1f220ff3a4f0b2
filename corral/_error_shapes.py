"""The one place where a run's error changes shape: the typed value and every form it takes.

A run's error is an ``ErrorValue`` (type, message, payload, file, line) from the worker to the
client. This module is the only one that builds its other forms, each with one function there
and one back:

=========================  ==================================  ================================
form                       where it travels                    functions
=========================  ==================================  ================================
JSON ``"full"``            worker ``done`` frames, the host's  ``to_json`` / ``from_json``
                           outcome of a worker's error, run
                           rows, ``corral dryrun`` results
JSON ``"compact"``         ``RunFailure.to_dict``, the host's  ``to_json(form="compact")``
                           own errors and SDK call replies,    (``from_json`` reads it)
                           a run row whose outcome could not
                           be stored
JSON ``"brief"``           ``corral dryrun`` usage errors      ``to_json(form="brief")``
proto ``RunError``         ``RunResponse``, ``Run.error``,     ``to_proto`` / ``from_proto``
                           ``DryRunResult.error``
``ErrorInfo`` details      a RunFailure's gRPC status          ``to_info_details`` /
                           (``corral._grpc_errors``)           ``from_info_details``
=========================  ==================================  ================================

The JSON keys are ``type``, ``message``, ``payload``, ``file`` and ``line``: "full" has all five
(``""`` and ``0`` when the place is unknown), "compact" leaves ``file`` and ``line`` out when
there is no file, "brief" has ``type`` and ``message`` only. The proto's ``payload_json`` is the
payload as JSON text (``"null"`` for none); text that does not parse is read back as text.

A ``CorralError`` that is not a run failure has ``details`` instead of a payload: its JSON is
``{type, message, details}`` (``corral_error_json``), and as a run's error (``.value``) its
details become the payload. A run that a per-run budget failed (a ``ResourceExhausted``) is
stored and shown as ``{type, message, details, payload: null}`` (``budget_failure_json``).
The ``corral`` command prints a failed call in the seed's shape, ``{error_type, payload,
message, file?, line?, run_id?}`` (``corral.cli._output.error_json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from corral.v1 import common_pb2

if TYPE_CHECKING:
    from corral.errors import CorralError

JsonForm = Literal["full", "compact", "brief"]
"""Which JSON keys ``to_json`` writes (see the module's docstring)."""

UNKNOWN_TYPE = "runner_error"
"""The type of an error read without one (a malformed frame or row)."""
MAX_LINE = 2**31 - 1
"""The largest line a ``RunError`` carries (an int32); a line beyond it is read as 0."""
INFO_KEYS = ("payload", "file", "line")
"""The keys a RunFailure adds to its ErrorInfo details."""


@dataclass(frozen=True)
class ErrorValue:
    """A run's error, the same from the worker to the client.

    Attributes:
        code: the error type, one of ``corral.errors.RUN_ERROR_TYPES`` for a run (``type`` in
            every external form).
        message: what went wrong, for a person.
        payload: JSON-able data for the caller (an ActionError's payload, HTTP details, the
            budget that ran out, ...); read-only.
        file: the customer file the error was raised in, ``""`` when unknown.
        line: the line in that file, ``0`` when unknown.
    """

    code: str
    message: str = ""
    payload: Any = None
    file: str = ""
    line: int = 0


def to_json(value: ErrorValue, form: JsonForm = "full") -> dict[str, Any]:
    """The error as JSON-able data, in one of the forms of the module's docstring."""
    out: dict[str, Any] = {"type": value.code, "message": value.message}
    if form == "brief":
        return out
    out["payload"] = value.payload
    if form == "full" or value.file:
        out |= {"file": value.file, "line": value.line}
    return out


def from_json(data: object) -> ErrorValue:
    """The error of JSON data in any of the forms, whoever wrote it.

    A worker runs untrusted code, so a field of the wrong type or range is dropped (a line
    beyond an int32, a type that is not text) and a lone surrogate replaced, so that the value
    always fits a ``RunError``.
    """
    fields: Mapping[Any, Any] = data if isinstance(data, Mapping) else {}
    return ErrorValue(
        code=_text(fields.get("type")) or UNKNOWN_TYPE,
        message=_text(fields.get("message")),
        payload=fields.get("payload"),
        file=_text(fields.get("file")),
        line=_line(fields.get("line")),
    )


def to_proto(value: ErrorValue) -> common_pb2.RunError:
    """The error as the ``RunError`` message."""
    return common_pb2.RunError(
        type=_text(value.code) or UNKNOWN_TYPE,
        message=_text(value.message),
        payload_json=json.dumps(value.payload, ensure_ascii=False, default=str),
        file=_text(value.file),
        line=_line(value.line),
    )


def from_proto(message: common_pb2.RunError) -> ErrorValue:
    """The error a ``RunError`` carries."""
    return ErrorValue(
        code=message.type or UNKNOWN_TYPE,
        message=message.message,
        payload=_payload(message.payload_json),
        file=message.file,
        line=message.line,
    )


def to_info_details(value: ErrorValue) -> dict[str, Any]:
    """What a RunFailure adds to the JSON details of its gRPC ErrorInfo."""
    return {"payload": value.payload, "file": value.file, "line": value.line}


def from_info_details(
    code: str, message: str, details: Mapping[str, Any]
) -> tuple[ErrorValue, dict[str, Any]]:
    """The run error of an ErrorInfo (its reason, the status message, its details), and the
    details that are not part of it (``run_id``, ``truncated``...)."""
    value = ErrorValue(
        code=code,
        message=message,
        payload=details.get("payload"),
        file=details.get("file") or "",
        line=details.get("line") or 0,
    )
    return value, {k: v for k, v in details.items() if k not in INFO_KEYS}


def corral_error_json(err: CorralError) -> dict[str, Any]:
    """A ``CorralError`` as JSON-able data: type, message, details."""
    return {"type": err.code, "message": err.message, "details": err.details}


def budget_failure_json(err: CorralError) -> dict[str, Any]:
    """The error of a run that a per-run budget failed: its details, and no payload."""
    return {**corral_error_json(err), "payload": None}


def _text(value: Any) -> str:
    """A string as protobuf and strict JSON carry it (lone surrogates replaced), else ""."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8")


def _line(value: Any) -> int:
    return value if type(value) is int and 0 <= value <= MAX_LINE else 0


def _payload(text: str) -> Any:
    """A payload as JSON text; text that does not parse stays text, none is None."""
    try:
        return json.loads(text) if text else None
    except (ValueError, RecursionError):
        return text
