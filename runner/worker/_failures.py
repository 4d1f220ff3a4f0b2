"""How a worker reads a run's failure and reports it: whatever function code raised, or left
in the fields of its errors, becomes a ``done`` message of strict JSON with fields of their
types; a guard violation is reported the moment it happens and wins over what came after."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from typing import Any

import pydantic

import sandbox
from corral._error_shapes import ErrorValue, to_json
from corral.errors import CompileError, RunFailure
from runner import _protocol as protocol
from runner.sdk._definitions import ActionError
from runner.sdk._response import HttpError
from runner.worker._values import to_json_value
from sandbox.language import SandboxViolation

NOT_JSON = (ValueError, TypeError, UnicodeError, RecursionError)
"""What encoding a message raises for a value that is not strict JSON (NaN, Infinity, a lone
surrogate, an object, a cycle)."""
_MAX_LINE = 2**31 - 1


class ViolationReporter:
    """Tells the runner of a guard violation the moment it happens, then ends the worker.

    Function code never runs after a violation, so it cannot catch the error and go on, and no
    later message can clear it: the runner ends the run on this frame.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def __call__(self, record: Mapping[str, Any]) -> None:
        frame = {
            "op": "violation",
            "rule": as_text(record.get("rule")) or "unknown",
            "message": as_text(record.get("message"))[:4000],
            "file": as_text(record.get("file")),
            "line": as_line(record.get("line")),
        }
        with contextlib.suppress(BaseException):
            self._sock.sendall(protocol.encode(frame))
        os._exit(0)


def check_violations() -> None:
    failure = violation_failure()
    if failure is not None:
        raise failure


def violation_failure() -> RunFailure | None:
    found = sandbox.violations()
    if not found:
        return None
    first = found[0]
    return RunFailure(
        "sandbox_violation",
        "the function broke a sandbox rule (even if it caught the error): "
        + str(first.get("message")),
        payload={"violations": found[:20]},
        file=str(first.get("file") or ""),
        line=int(first.get("line") or 0),
    )


def report(exc: BaseException, program: Any) -> RunFailure:
    """The failure a run that raised ``exc`` ends with.

    A recorded violation wins over whatever the code raised after catching it (an ActionError,
    a NangoError of its own making...): a violation always fails the run as one.
    """
    failure = failure_of(exc, program)
    if type(exc) is SandboxViolation:
        return failure
    return violation_failure() or failure


def failure_of(exc: BaseException, program: Any) -> RunFailure:
    """``_to_failure``, also when reading the error runs customer code that raises (the
    ``__str__`` of its exception, a generator as an ActionError payload, an HttpError subclass's
    ``payload``)."""
    try:
        return to_failure(exc, program)
    except MemoryError:  # the answer made in advance says so (worker_main)
        raise
    except BaseException as error:  # customer code may raise anything here
        file, line = sandbox.locate_error(exc, program) if program is not None else ("", 0)
        return RunFailure(
            "script_internal_error",
            f"the function raised {_name(exc)}, and reading that error raised {_name(error)}",
            file=file,
            line=line,
        )


def _name(exc: BaseException) -> str:
    return as_text(type(exc).__name__) or "an exception"


def to_failure(exc: BaseException, program: Any) -> RunFailure:
    file, line = sandbox.locate_error(exc, program) if program is not None else ("", 0)
    if isinstance(exc, RunFailure):
        if not exc.file and file:
            exc.file, exc.line = file, line
        return exc
    if isinstance(exc, CompileError):
        return RunFailure("compile_error", exc.message, payload=exc.details.get("errors"))
    if isinstance(exc, ActionError):
        try:
            payload = to_json_value(exc.payload, error_type="action_script_failure", what="payload")
        except RunFailure as bad:
            return RunFailure("action_script_failure", bad.message, file=file, line=line)
        if payload is not None and not isinstance(payload, dict):
            payload = {"message": payload}  # the seed's shape for a string, number or list
        return RunFailure(
            "action_script_failure",
            "the action raised ActionError",
            payload=payload,
            file=file,
            line=line,
        )
    if isinstance(exc, HttpError):
        return RunFailure(
            "script_http_error", str(exc), payload=exc.payload(), file=file, line=line
        )
    if isinstance(exc, MemoryError):
        return RunFailure(
            "resource_exhausted",
            "the run ran out of memory",
            payload={"resource": "memory"},
            file=file,
            line=line,
        )
    if isinstance(exc, RecursionError):
        return RunFailure(
            "resource_exhausted",
            "maximum recursion depth exceeded",
            payload={"resource": "recursion"},
            file=file,
            line=line,
        )
    if isinstance(exc, pydantic.ValidationError):
        return RunFailure(
            "script_internal_error",
            f"validation failed: {exc.error_count()} errors",
            payload=exc.errors(include_url=False, include_input=False, include_context=False),
            file=file,
            line=line,
        )
    return RunFailure("script_internal_error", f"{type(exc).__name__}: {exc}", file=file, line=line)


def done_error(failure: RunFailure) -> dict[str, Any]:
    """The ``done`` message of a failure, with fields of their types whatever the function put
    in them (a subclass of NangoError, or NangoError itself, can hold anything)."""
    try:
        value = ErrorValue(
            as_text(failure.code) or "script_internal_error",
            as_text(failure.message)[:4000],
            payload=strict_json(failure.payload),
            file=as_text(failure.file),
            line=as_line(failure.line),
        )
    except MemoryError:  # the answer made in advance says so (worker_main)
        raise
    except BaseException:  # a property of a customer subclass raised
        value = ErrorValue(
            "script_internal_error", "the function raised an error that cannot be read"
        )
    return {"op": "done", "ok": False, "error": to_json(value)}


def done_frame(done: dict[str, Any], mode: str) -> bytes:
    """The frame of the ``done`` message: a result that is not strict JSON (NaN, Infinity, a
    lone surrogate) fails the run with a typed error instead of the worker."""
    try:
        return protocol.encode(done)
    except NOT_JSON as exc:
        code = "invalid_definition" if mode == "describe" else "invalid_action_output"
        if not done.get("ok"):
            code = "script_internal_error"
        failure = RunFailure(code, f"the function's result is not valid JSON ({reason(exc)})")
        return protocol.encode(done_error(failure))


def as_text(value: Any) -> str:
    """A string as the protocol can carry it (lone surrogates replaced), or "" for a non-string."""
    if not isinstance(value, str):
        return ""
    return str.encode(value, "utf-8", "replace").decode("utf-8")


def as_line(value: Any) -> int:
    return value if type(value) is int and 0 <= value <= _MAX_LINE else 0


def strict_json(value: Any) -> Any:
    """``value`` as JSON-able data that encodes as strict JSON, or None."""
    try:
        data = to_json_value(value, error_type="script_internal_error", what="a payload")
        protocol.encode({"payload": data})
    except MemoryError:  # the answer made in advance says so (worker_main)
        raise
    except BaseException:  # customer code (a generator, a model) may raise anything
        return None
    return data


def reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "a string holds a lone surrogate"
    if isinstance(exc, ValueError) and "float" in str(exc):
        return "NaN or Infinity"
    return as_text(str(exc))[:200]


OUT_OF_MEMORY = protocol.encode(
    done_error(
        RunFailure(
            "resource_exhausted", "the run ran out of memory", payload={"resource": "memory"}
        )
    )
)
"""The answer when the function used up the memory, made before it runs."""
