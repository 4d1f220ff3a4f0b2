"""Interceptors that wrap each call's behaviour in the thread that serves it.

Cross-cutting concerns (errors, authentication, undecodable requests) are wrappers around a
handler's behaviour (and its request parser), for unary calls and for server-streaming calls
alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

Behaviour = Callable[[Any, grpc.ServicerContext], Any]
StreamBehaviour = Callable[[Any, grpc.ServicerContext], Iterator[Any]]
Deserializer = Callable[[bytes], Any] | None

if TYPE_CHECKING:
    Interceptor = grpc.ServerInterceptor[Any, Any]
    MethodHandler = grpc.RpcMethodHandler[Any, Any]
else:
    Interceptor = grpc.ServerInterceptor
    MethodHandler = grpc.RpcMethodHandler


class CallWrapper(Interceptor):
    """Base: override ``wrap`` (unary calls) and ``wrap_stream`` (server-streaming calls)."""

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        """The behaviour to run instead of a unary ``behaviour``."""
        return behaviour

    def wrap_stream(self, method: str, behaviour: StreamBehaviour) -> StreamBehaviour:
        """The behaviour to run instead of a server-streaming ``behaviour``."""
        return behaviour

    def wrap_deserializer(self, deserialize: Deserializer) -> Deserializer:
        """The request parser to use instead of ``deserialize``."""
        return deserialize

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], MethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> MethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self.wrap(method, handler.unary_unary),
                request_deserializer=self.wrap_deserializer(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(method, handler.unary_stream),
                request_deserializer=self.wrap_deserializer(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler
