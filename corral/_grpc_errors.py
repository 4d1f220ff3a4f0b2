"""The one place where corral errors become gRPC statuses, and back.

A status carries a ``google.rpc.ErrorInfo`` detail: ``reason`` is the error's code, ``domain`` is
"corral", and ``metadata`` holds ``retryable``, the JSON ``details`` and ``run_failure`` ("true"
when a run ended with that error, whose payload, file and line are then in the details, as
``corral._error_shapes.to_info_details`` puts them).

A status travels in the call's trailers, which a gRPC client refuses above 8 KiB (16 KiB at
most). So the message is cut to ``MAX_MESSAGE_BYTES`` and the details to ``MAX_DETAILS_BYTES``
(long strings and lists shortened, then big values left out, ``"truncated": true`` added); a
run's full error stays in the run (``GetRun``), whose id the details keep.

A request whose bytes do not parse as the RPC's message is refused as ``invalid_message``
(INVALID_ARGUMENT), after authentication, like any other bad input.
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

from corral import _error_shapes, errors
from corral._interceptors import Behaviour, CallWrapper, Deserializer, StreamBehaviour

DOMAIN = "corral"

_STATUS_OF: tuple[tuple[type[errors.CorralError], int], ...] = (
    (errors.InvalidRequest, code_pb2.INVALID_ARGUMENT),
    (errors.NotFound, code_pb2.NOT_FOUND),
    (errors.AlreadyExists, code_pb2.ALREADY_EXISTS),
    (errors.Unauthenticated, code_pb2.UNAUTHENTICATED),
    (errors.PermissionDenied, code_pb2.PERMISSION_DENIED),
    (errors.Unavailable, code_pb2.UNAVAILABLE),
    (errors.ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (errors.RunFailure, code_pb2.ABORTED),
)

_CLASS_OF: dict[int, type[errors.CorralError]] = {code: cls for cls, code in _STATUS_OF}

_CLASS_BY_REASON: dict[str, type[errors.CorralError]] = {"compile_error": errors.CompileError}

_RUN_STATUS: dict[str, int] = {
    "invalid_action_input": code_pb2.INVALID_ARGUMENT,
    "invalid_limits": code_pb2.INVALID_ARGUMENT,
    "execution_timeout": code_pb2.DEADLINE_EXCEEDED,
    "resource_exhausted": code_pb2.RESOURCE_EXHAUSTED,
}

_log = structlog.get_logger("corral.grpc")

MAX_MESSAGE_BYTES = 600
"""The longest status message sent, in UTF-8 bytes (the rest is cut, with a note)."""
MAX_DETAILS_BYTES = 2000
"""The longest JSON ``details`` sent in the ErrorInfo."""
_SHORT_STRING = 200
_SHORT_LIST = 10


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
        details.update(_error_shapes.to_info_details(err.value))
    info = error_details_pb2.ErrorInfo(
        reason=_cut(err.code, 100) or "internal_error",
        domain=DOMAIN,
        metadata={
            "retryable": "true" if err.retryable else "false",
            "details": bounded_details(details),
            "run_failure": "true" if isinstance(err, errors.RunFailure) else "false",
        },
    )
    packed = any_pb2.Any()
    packed.Pack(info)
    status = status_pb2.Status(
        code=status_code_of(err), message=bounded_message(err.message), details=[packed]
    )
    return rpc_status.to_status(status)


def bounded_message(message: str) -> str:
    """The message, cut to ``MAX_MESSAGE_BYTES`` UTF-8 bytes with a note when it is longer."""
    size = len(message.encode(errors="replace"))
    if size <= MAX_MESSAGE_BYTES:
        return message
    return _cut(message, MAX_MESSAGE_BYTES - 40) + f"... ({size} bytes, cut)"


def bounded_details(details: dict[str, Any]) -> str:
    """The details as JSON text of at most ``MAX_DETAILS_BYTES`` bytes.

    Long strings and lists are shortened first; if that is not enough, the biggest values are
    left out. Either way ``"truncated": true`` says that something was.
    """
    text = _dumps(details)
    if len(text.encode(errors="replace")) <= MAX_DETAILS_BYTES:
        return text
    shortened: dict[str, Any] = {str(k): _shorten(v, 3) for k, v in details.items()}
    shortened["truncated"] = True
    while len(_dumps(shortened).encode(errors="replace")) > MAX_DETAILS_BYTES:
        biggest = max(
            (k for k in shortened if k != "truncated"),
            key=lambda k: len(_dumps(shortened[k])),
            default=None,
        )
        if biggest is None:
            break
        del shortened[biggest]
    return _dumps(shortened)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _cut(text: str, limit: int) -> str:
    return text.encode(errors="replace")[:limit].decode(errors="ignore")


def _shorten(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= _SHORT_STRING else value[:_SHORT_STRING] + "..."
    if depth <= 0 and isinstance(value, dict | list | tuple):
        return "..."
    if isinstance(value, dict):
        items = list(value.items())
        return {str(k): _shorten(v, depth - 1) for k, v in items[:_SHORT_LIST]}
    if isinstance(value, list | tuple):
        return [_shorten(v, depth - 1) for v in value[:_SHORT_LIST]]
    return value


def abort(context: grpc.ServicerContext, err: errors.CorralError) -> None:
    """Ends the call with the error's status (raises, as grpc's abort does)."""
    context.abort_with_status(to_status(err))


def from_rpc_error(exc: grpc.RpcError) -> errors.CorralError:
    """Rebuilds a corral error from a failed call (client side)."""
    status = rpc_status.from_call(exc) if isinstance(exc, grpc.Call) else None
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    info = error_info(status)
    if info is None and code == grpc.StatusCode.UNAVAILABLE and _tls_refusal(message or ""):
        return errors.Unavailable(
            "the server refused the connection during the TLS handshake (a certificate the"
            " other side does not accept, no client certificate, or TLS on one side and"
            f" plaintext on the other): {message}",
            code="tls_refused",
            retryable=False,
        )
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
        value, rest = _error_shapes.from_info_details(info.reason, message or "", details)
        return errors.RunFailure.from_value(value, retryable=retryable, details=rest)
    return cls(message or "", code=info.reason, retryable=retryable, details=details)


_TLS_SIGNS = (
    "handshake failed",
    "ssl_error",
    "certificate_verify_failed",
    "verification check failed",  # the server's certificate does not name the address dialled
    "socket closed",
)
"""How gRPC's transport words a refused handshake in a failed call's details. A server that
refuses a client's certificate (or a plaintext client, or a TLS client to a plaintext port)
closes the socket before the connection is up: "failed to connect ... Socket closed"."""


def _tls_refusal(message: str) -> bool:
    lowered = message.lower()
    return "failed to connect" in lowered and any(sign in lowered for sign in _TLS_SIGNS)


def tls_refused(exc: grpc.RpcError) -> str | None:
    """The details of a call refused during the TLS handshake; None for any other failure (or
    a call object that tells neither its code nor its details)."""
    if not isinstance(exc, grpc.Call):
        return None
    try:
        code, message = exc.code(), exc.details() or ""
    except NotImplementedError:  # a bare grpc.Call
        return None
    return message if code == grpc.StatusCode.UNAVAILABLE and _tls_refusal(message) else None


def error_info(status: status_pb2.Status | None) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo detail of a status, if it has one."""
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


class Undecodable:
    """Stands for a request whose bytes did not parse as the RPC's message."""

    def __init__(self, error: str) -> None:
        self.error = error


class MessageCheck(CallWrapper):
    """Refuses requests that are not their RPC's message, with a typed error.

    grpc's own handling of such bytes is an INTERNAL status with no detail; this parses
    tolerantly and raises ``InvalidRequest`` (``invalid_message``) in the handler instead. It
    goes innermost, so that authentication happens first.
    """

    def wrap_deserializer(self, deserialize: Deserializer) -> Deserializer:
        if deserialize is None:
            return None
        parse_strictly = deserialize

        def parse(data: bytes) -> Any:
            try:
                return parse_strictly(data)
            except Exception as exc:  # whatever the parser raises, the caller sent bad bytes
                return Undecodable(f"{type(exc).__name__}: {exc}")

        return parse

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        def checked(request: Any, context: grpc.ServicerContext) -> Any:
            _check_decoded(request, method)
            return behaviour(request, context)

        return checked

    def wrap_stream(self, method: str, behaviour: StreamBehaviour) -> StreamBehaviour:
        def checked(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            _check_decoded(request, method)
            yield from behaviour(request, context)

        return checked


def _check_decoded(request: Any, method: str) -> None:
    if isinstance(request, Undecodable):
        raise errors.InvalidRequest(
            f"the request is not a valid {method.rsplit('/', 1)[-1]} request message"
            f" ({request.error})",
            code="invalid_message",
        )


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
