"""Authentication of the public API: the bearer secret key selects the environment."""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from corral import _metadata
from corral._grpc_errors import abort
from corral._interceptors import Behaviour, CallWrapper, MethodHandler, StreamBehaviour
from corral.errors import CorralError, Unauthenticated
from orchestrator.storage._areas import Environment, TenantStore

_current: contextvars.ContextVar[Environment | None] = contextvars.ContextVar(
    "environment", default=None
)

PUBLIC_PREFIX = "/corral.v1.Orchestrator/"


def current_environment() -> Environment:
    """The environment of the call being served."""
    env = _current.get()
    if env is None:
        raise Unauthenticated("no environment for this call", code="missing_secret_key")
    return env


def current_environment_id() -> int | None:
    """The id of the environment of the call being served (None: no call is bound)."""
    env = _current.get()
    return None if env is None else env.id


class SecretKeyAuth(CallWrapper):
    """Resolves ``authorization: Bearer <secret key>`` for Orchestrator calls.

    The key is resolved when the call arrives, before gRPC reads its request: a call without a
    key, or with one no environment has, is answered at once and never waits in one of the
    server's threads for a request it may never send (a caller holding calls open that way
    used to take every thread, and every tenant's calls with them). Unknown keys are
    remembered for ``UNKNOWN_KEY_SECONDS`` (by digest), known ones never: a rotated key fails
    at once. When the store cannot answer, the call's own thread resolves the key instead.
    """

    def __init__(self, storage: TenantStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._storage = storage
        self._clock = clock
        self._unknown: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], MethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> MethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith(PUBLIC_PREFIX):
            return handler
        try:
            env = self._resolve(_bearer_of(handler_call_details.invocation_metadata))
        except Unauthenticated as err:
            return refusal(handler, err)
        except CorralError:
            env = None  # the store is away: the call's thread tries (and answers typed)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._bound(env, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._bound_stream(env, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _resolve(self, key: str) -> Environment:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        now = self._clock()
        with self._lock:
            until = self._unknown.get(digest)
            if until is not None and until > now:
                raise _unknown_key()
        try:
            return self._storage.environment_by_secret_key(key)
        except Unauthenticated:
            with self._lock:
                self._unknown[digest] = now + UNKNOWN_KEY_SECONDS
                self._unknown.move_to_end(digest)
                while len(self._unknown) > UNKNOWN_KEYS_KEPT:
                    self._unknown.popitem(last=False)
            raise

    def _environment(self, env: Environment | None, context: grpc.ServicerContext) -> Environment:
        if env is not None:
            return env
        return self._storage.environment_by_secret_key(_bearer(context))

    def _bound(self, env: Environment | None, behaviour: Behaviour) -> Behaviour:
        def authenticated(request: Any, context: grpc.ServicerContext) -> Any:
            token = _current.set(self._environment(env, context))
            try:
                return behaviour(request, context)
            finally:
                _current.reset(token)

        return authenticated

    def _bound_stream(self, env: Environment | None, behaviour: StreamBehaviour) -> StreamBehaviour:
        def authenticated(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            token = _current.set(self._environment(env, context))
            try:
                yield from behaviour(request, context)
            finally:
                _current.reset(token)

        return authenticated


UNKNOWN_KEY_SECONDS = 60.0
"""How long a key no environment had is refused without a lookup."""
UNKNOWN_KEYS_KEPT = 4096
"""Unknown keys remembered at most (the oldest are forgotten first)."""


def _unknown_key() -> Unauthenticated:
    return Unauthenticated("unknown secret key", code="invalid_secret_key")


def refusal(handler: MethodHandler, err: CorralError) -> MethodHandler:
    """A handler that ends the call with ``err`` without reading its request: a handler for a
    streamed request, whose stream it never iterates (gRPC hands it over at once)."""

    def refuse(_requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        abort(context, err)

    def refuse_stream(_requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        abort(context, err)
        yield from ()

    if handler.unary_stream is not None or handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            refuse_stream, response_serializer=handler.response_serializer
        )
    return grpc.stream_unary_rpc_method_handler(
        refuse, response_serializer=handler.response_serializer
    )


def _bearer_of(metadata: Any) -> str:
    header = ""
    for name, value in metadata or ():
        if name == _metadata.AUTHORIZATION:
            header = str(value)  # the last one, as the call's own context reads them
    return _key_of(header)


def _bearer(context: grpc.ServicerContext) -> str:
    return _key_of(str(dict(context.invocation_metadata()).get(_metadata.AUTHORIZATION, "")))


def _key_of(header: str) -> str:
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated(
            "missing secret key: send 'authorization: Bearer <secret key>'",
            code="missing_secret_key",
        )
    return key.strip()
