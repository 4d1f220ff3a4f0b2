"""Forwards a run's SDK calls to the orchestrator's RunnerCallbacks service, as they are.

A call arrives as the RPC's name and its request message, already checked (``runner.host._calls``)
and wrapped by the run's rules (``runner.host._run_calls``). It goes to the stub's method of that
name with the run token (which the worker never sees) in the call metadata, and the response
message comes back as it is: nothing here knows one RPC from another.
"""

from __future__ import annotations

import random
import time
from typing import Any

import grpc
import structlog
from google.protobuf.message import Message

from corral import _grpc_errors, _metadata
from corral.errors import ResourceExhausted, Unavailable
from corral.v1 import callbacks_pb2_grpc

_log = structlog.get_logger("corral.runner")

BUSY_CODE = "too_many_sdk_calls"
"""The orchestrator's answer when the run's environment has its limit of SDK calls open."""
BUSY_FIRST_PAUSE_SECONDS = 0.02
BUSY_MAX_PAUSE_SECONDS = 0.5

CallbacksStub = callbacks_pb2_grpc.RunnerCallbacksStub | Any
"""A ``RunnerCallbacksStub``, or an object with its methods (the offline dry run serves the
same calls in process)."""


class GrpcCallbackHandler:
    """Answers one run's SDK calls through RunnerCallbacks, with that run's token."""

    def __init__(self, stub: CallbacksStub, run_token: str) -> None:
        self._stub = stub
        self._metadata = ((_metadata.RUN_TOKEN, run_token),)

    def call(self, rpc: str, request: Message, deadline: float) -> Message:
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

    def _call_once(self, rpc: str, request: Message, deadline: float) -> Message:
        timeout = max(deadline - time.monotonic(), 0.001)
        try:
            response: Message = getattr(self._stub, rpc)(
                request, timeout=timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            error = _grpc_errors.from_rpc_error(exc)
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
