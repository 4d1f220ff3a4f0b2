"""Forwards a run's SDK calls to the orchestrator's RunnerCallbacks service, as they are.

A call arrives as the RPC's name and its request message, already checked (``runner.host._calls``)
and wrapped by the run's rules (``runner.host._run_calls``). It goes to the stub's method of that
name with the run token (which the worker never sees) in the call metadata, and the response
message comes back as it is: nothing here knows one RPC from another, except that a response of
a type in :data:`PASSED_THROUGH_TYPES` (a proxied response, which may be tens of MB) comes back
as its bytes (``Serialized``), unparsed, and goes to the worker so.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import grpc
import structlog
from google.protobuf.message import Message

from corral import _grpc_errors, _metadata
from corral.errors import ResourceExhausted, RunFailure, Unavailable
from corral.v1 import callbacks_pb2, callbacks_pb2_grpc
from runner.host._calls import Serialized
from runner.host._run_calls import WAITING_REQUEST_TYPES

_log = structlog.get_logger("corral.runner")

BUSY_CODE = "too_many_sdk_calls"
"""The orchestrator's answer when the run's environment has its limit of SDK calls open."""
BUSY_FIRST_PAUSE_SECONDS = 0.02
BUSY_MAX_PAUSE_SECONDS = 0.5

CallbacksStub = callbacks_pb2_grpc.RunnerCallbacksStub | Any
"""A ``RunnerCallbacksStub``, or an object with its methods (the offline dry run serves the
same calls in process)."""


_SERVICE = callbacks_pb2.DESCRIPTOR.services_by_name["RunnerCallbacks"]

PASSED_THROUGH_TYPES = frozenset({callbacks_pb2.ProxyResponse.DESCRIPTOR.full_name})
"""Response types the runner passes to the worker as bytes, never parsed here: a proxied
response, which may carry tens of MB."""

PASSED_THROUGH = frozenset(
    method.name
    for method in _SERVICE.methods
    if method.output_type.full_name in PASSED_THROUGH_TYPES
)
"""The RPCs whose responses are of :data:`PASSED_THROUGH_TYPES`."""


def passed_through(channel: grpc.Channel) -> dict[str, Callable[..., Any]]:
    """Callables for the RPCs of :data:`PASSED_THROUGH` on ``channel`` that return the
    response's bytes (no deserializer), by RPC name."""
    out: dict[str, Callable[..., Any]] = {}
    for rpc in sorted(PASSED_THROUGH):
        method = _SERVICE.methods_by_name[rpc]
        request_type = getattr(callbacks_pb2, method.input_type.name)
        out[rpc] = channel.unary_unary(
            f"/{_SERVICE.full_name}/{rpc}",
            request_serializer=request_type.SerializeToString,
            response_deserializer=None,
        )
    return out


# WAITING_REQUEST_TYPES (runner.host._run_calls): requests that may wait on something outside
# the orchestrator's store. Their calls are made as gRPC futures, which ``hang_up`` cancels so
# that the orchestrator stops that work. Every other call is answered from the store in a moment
# and is made as a blocking call: a future starts a thread for its channel whenever none of the
# channel's calls is in flight, which cost each sequential SDK call about 0.15 ms (issue 13).

HUNG_UP_IN_FLIGHT = frozenset(
    method.name
    for method in _SERVICE.methods
    if method.input_type.full_name in WAITING_REQUEST_TYPES
)
"""The RPCs of :data:`WAITING_REQUEST_TYPES`: ``hang_up`` ends them while in flight."""


class GrpcCallbackHandler:
    """Answers one run's SDK calls through RunnerCallbacks, with that run's token."""

    def __init__(
        self,
        stub: CallbacksStub,
        run_token: str,
        raw: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        """Args:
        stub: the service's stub (or an object with its methods).
        run_token: the run's token, sent in each call's metadata.
        raw: RPCs to pass through as bytes (:func:`passed_through`), by name.
        """
        self._stub = stub
        self._raw = dict(raw or {})
        self._metadata = ((_metadata.RUN_TOKEN, run_token),)
        self._lock = threading.Lock()
        self._current: grpc.Future[Any] | None = None
        self._hung_up = False

    def hang_up(self) -> None:
        """Ends the call in progress (the orchestrator sees its caller go away and stops the
        work, a proxied request included) and refuses later calls: the run has ended."""
        with self._lock:
            self._hung_up = True
            current = self._current
        if current is not None:
            current.cancel()

    def call(self, rpc: str, request: Message, deadline: float) -> Message | Serialized:
        """Performs one RPC; raises the orchestrator's typed error.

        A call refused because the run's environment has its limit of SDK calls in progress
        (``too_many_sdk_calls``) is tried again, with backoff, while the run has time.
        """
        pause = BUSY_FIRST_PAUSE_SECONDS
        while True:
            try:
                return self._call_once(rpc, request, deadline)
            except ResourceExhausted as busy:
                left = deadline - time.monotonic()
                if busy.code != BUSY_CODE or left <= pause:
                    raise
            time.sleep(pause * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not secrecy
            pause = min(pause * 2, BUSY_MAX_PAUSE_SECONDS)

    def _call_once(self, rpc: str, request: Message, deadline: float) -> Message | Serialized:
        timeout = max(deadline - time.monotonic(), 0.001)
        raw = self._raw.get(rpc)
        try:
            if raw is not None:
                return Serialized(rpc, self._invoke(rpc, raw, request, timeout))
            response: Message = self._invoke(rpc, getattr(self._stub, rpc), request, timeout)
        except grpc.RpcError as exc:
            error = _grpc_errors.from_rpc_error(exc)
            if error.code == "tls_refused":
                # The callback API does not accept this runner's certificate (or this one
                # does not trust its): the operator's to fix; the function learns no more.
                _log.error("callback refused: TLS handshake failed", rpc=rpc, error=error.message)
                raise Unavailable(
                    "the orchestrator could not be reached (tls_refused)",
                    code=error.code,
                    retryable=False,
                ) from None
            if isinstance(error, Unavailable) and error.code.startswith("rpc_"):
                # A transport failure, not a typed answer: its details name the orchestrator's
                # address and port, which are no business of the function. Operators get them.
                _log.warning("callback transport failure", rpc=rpc, error=error.message)
                raise Unavailable(
                    f"the orchestrator could not be reached ({error.code.removeprefix('rpc_')})",
                    code=error.code,
                    retryable=True,
                ) from None
            raise error from None
        return response

    def _invoke(
        self, rpc: str, method: Callable[..., Any], request: Message, timeout: float
    ) -> Any:
        """One call; one of :data:`HUNG_UP_IN_FLIGHT` can be ended by ``hang_up`` (a gRPC
        method's future; an in-process stub's call runs to its end)."""
        self._refuse_if_hung_up()
        start = getattr(method, "future", None) if rpc in HUNG_UP_IN_FLIGHT else None
        if start is None:
            return method(request, timeout=timeout, metadata=self._metadata)
        future = start(request, timeout=timeout, metadata=self._metadata)
        with self._lock:
            if self._hung_up:
                future.cancel()
            self._current = future
        try:
            return future.result()
        except grpc.FutureCancelledError:
            raise _hung_up_error() from None
        finally:
            with self._lock:
                self._current = None

    def _refuse_if_hung_up(self) -> None:
        with self._lock:
            if self._hung_up:
                raise _hung_up_error()


def _hung_up_error() -> RunFailure:
    return RunFailure("execution_cancelled", "the run was cancelled during an SDK call")
