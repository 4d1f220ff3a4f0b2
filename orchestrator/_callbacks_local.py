"""RunnerCallbacks served in this process: the callback service called as its gRPC stub is.

An offline dry run has no orchestrator to call, yet its SDK calls take the production path:
``runner._forward`` sends them to this object as it would to a ``RunnerCallbacksStub``, and it
hands them to the same service behind the same run-token interceptor. Requests and responses
cross as bytes, as on the wire, so nothing the service keeps is shared with the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import grpc
from google.protobuf.message import Message

from orchestrator._callbacks import CallbacksService
from orchestrator._run_auth import CALLBACKS_PREFIX, RunTokenAuth

Metadata = Sequence[tuple[str, str]]


class _Context:
    """The parts of a ``grpc.ServicerContext`` the service and the interceptor read."""

    def __init__(self, metadata: Metadata, timeout: float | None) -> None:
        self._metadata = tuple(metadata)
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(self._deadline - time.monotonic(), 0.0)


class LocalCallbacks:
    """A ``RunnerCallbacksStub`` look-alike that serves each call in this process."""

    def __init__(self, service: CallbacksService, auth: RunTokenAuth) -> None:
        self._service = service
        self._auth = auth

    def __getattr__(self, rpc: str) -> Callable[..., Message]:
        if rpc.startswith("_"):
            raise AttributeError(rpc)
        handler = getattr(self._service, rpc)
        behaviour = self._auth.wrap(CALLBACKS_PREFIX + rpc, handler)

        def call(request: Message, timeout: float | None = None, metadata: Metadata = ()) -> Any:
            copy = type(request).FromString(request.SerializeToString())
            response = behaviour(copy, cast(grpc.ServicerContext, _Context(metadata, timeout)))
            return type(response).FromString(response.SerializeToString())

        return call
