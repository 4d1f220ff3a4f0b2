"""The one place where corral errors become gRPC statuses, and back.

A status carries a ``google.rpc.ErrorInfo`` detail: ``reason`` is the error's code, ``domain`` is
"corral", and ``metadata`` holds ``retryable``, the JSON ``details`` and ``run_failure`` ("true"
when a run ended with that error, whose payload, file and line are then in the details).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import structlog
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from corral import errors
from corral._interceptors import Behaviour, CallWrapper, StreamBehaviour

DOMAIN = "corral"

_STATUS_OF: tuple[tuple[type[errors.CorralError], int], ...] = (
    (errors.InvalidRequest, code_pb2.INVALID_ARGUMENT),
    (errors.NotFound, code_pb2.NOT_FOUND),
    (errors.AlreadyExists, code_pb2.ALREADY_EXISTS),
    (errors.Unauthenticated, code_pb2.UNAUTHENTICATED),
    (errors.PermissionDenied, code_pb2.PERMISSION_DENIED),
    (errors.Unavailable, code_pb2.UNAVAILABLE),
    (errors.RunFailure, code_pb2.ABORTED),
)

_CLASS_OF: dict[int, type[errors.CorralError]] = {code: cls for cls, code in _STATUS_OF}

_CLASS_BY_REASON: dict[str, type[errors.CorralError]] = {"compile_error": errors.CompileError}

_RUN_STATUS: dict[str, int] = {
    "invalid_action_input": code_pb2.INVALID_ARGUMENT,
    "execution_timeout": code_pb2.DEADLINE_EXCEEDED,
    "resource_exhausted": code_pb2.RESOURCE_EXHAUSTED,
}

_log = structlog.get_logger("corral.grpc")


def status_code_of(err: errors.CorralError) -> int:
    """The google.rpc code for an error."""
    if isinstance(err, errors.RunFailure) and err.code in _RUN_STATUS:
        return _RUN_STATUS[err.code]
    for cls, code in _STATUS_OF:
        if isinstance(err, cls):
            return code
    return int(code_pb2.INTERNAL)


def to_status(err: errors.CorralError) -> grpc.Status:
    """A gRPC status with an ErrorInfo detail for the error."""
    details: dict[str, Any] = dict(err.details)
    if isinstance(err, errors.RunFailure):
        details.update({"payload": err.payload, "file": err.file, "line": err.line})
    info = error_details_pb2.ErrorInfo(
        reason=err.code,
        domain=DOMAIN,
        metadata={
            "retryable": "true" if err.retryable else "false",
            "details": json.dumps(details, default=str),
            "run_failure": "true" if isinstance(err, errors.RunFailure) else "false",
        },
    )
    packed = any_pb2.Any()
    packed.Pack(info)
    status = status_pb2.Status(code=status_code_of(err), message=err.message, details=[packed])
    return rpc_status.to_status(status)


def abort(context: grpc.ServicerContext, err: errors.CorralError) -> None:
    """Ends the call with the error's status (raises, as grpc's abort does)."""
    context.abort_with_status(to_status(err))


def from_rpc_error(exc: grpc.RpcError) -> errors.CorralError:
    """Rebuilds a corral error from a failed call (client side)."""
    status = rpc_status.from_call(exc) if isinstance(exc, grpc.Call) else None
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    info = _error_info(status)
    if info is None:
        return errors.Unavailable(
            f"{code.name}: {message}", code="rpc_" + code.name.lower(), retryable=True
        )
    details = json.loads(info.metadata.get("details", "{}") or "{}")
    retryable = info.metadata.get("retryable") == "true"
    cls = _CLASS_BY_REASON.get(info.reason) or _CLASS_OF.get(
        status.code if status else -1, errors.CorralError
    )
    if info.metadata.get("run_failure") == "true":
        return errors.RunFailure(
            info.reason,
            message or "",
            payload=details.get("payload"),
            file=details.get("file") or "",
            line=details.get("line") or 0,
            retryable=retryable,
            details={k: v for k, v in details.items() if k not in ("payload", "file", "line")},
        )
    return cls(message or "", code=info.reason, retryable=retryable, details=details)


def _error_info(status: status_pb2.Status | None) -> error_details_pb2.ErrorInfo | None:
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


class ErrorInterceptor(CallWrapper):
    """Turns CorralError into its status and anything unexpected into INTERNAL, logged."""

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            except Exception as exc:  # every failure becomes a status
                _end_with(context, exc, method)
            return None  # pragma: no cover - abort raises

        return guarded

    def wrap_stream(self, method: str, behaviour: StreamBehaviour) -> StreamBehaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                yield from behaviour(request, context)
            except Exception as exc:  # every failure becomes a status
                _end_with(context, exc, method)

        return guarded


def _end_with(context: grpc.ServicerContext, exc: Exception, method: str) -> None:
    if isinstance(exc, errors.CorralError):
        abort(context, exc)
    if getattr(context, "code", lambda: None)() is not None:  # the handler aborted itself
        raise exc
    _log.exception("unhandled error", method=method)
    abort(context, errors.CorralError("internal error; see the server log"))
