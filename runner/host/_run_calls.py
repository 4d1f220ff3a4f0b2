"""The per-run wrappers around a run's SDK calls, kept by the runner (the worker is not trusted).

One ``RunCalls`` serves one run. It takes each checked request (``runner.host._calls``), applies the
run's rules by message type, never by RPC, and passes it to the run's callback handler:

- a log line (``LogRequest``): at most :data:`MAX_LOG_LINES` per run (later ones are dropped,
  after one line that says so), its message and extra values cut at :data:`MAX_LOG_BYTES`,
  its time the runner's;
- a checkpoint save (``SaveCheckpointRequest``): made on top of the version the run last read
  or wrote (any ``Checkpoint`` reply), so that a second writer in between makes it fail with
  ``checkpoint_conflict`` instead of being overwritten silently.
"""

from __future__ import annotations

import json
import time
from typing import Protocol, runtime_checkable

from google.protobuf.message import Message

from corral.v1 import callbacks_pb2 as pb
from runner.host._calls import Serialized, check_response

MAX_LOG_LINES = 10_000
"""Log lines stored per run; later ones are dropped after one line that says so."""
MAX_LOG_BYTES = 64 * 1024
"""Characters of one log message (and of its extra values, as JSON) kept."""


WAITING_REQUEST_TYPES = frozenset(
    {
        pb.ProxyRequest.DESCRIPTOR.full_name,
        pb.TriggerActionCallRequest.DESCRIPTOR.full_name,
        pb.GetConnectionCallRequest.DESCRIPTOR.full_name,
    }
)
"""Requests that may wait on something outside the orchestrator's store: an upstream (a
proxied request; ``get_connection``, which fetches a token when the stored one is due), a
nested run. Every other call is answered from the store in a moment."""


def answered_from_store(request: Message) -> bool:
    """Every call but those of :data:`WAITING_REQUEST_TYPES`: what the orchestrator answers
    from its store, never waiting on an upstream (the host answers them on its own thread,
    without a hand-off, see ``runner.host._host``)."""
    return request.DESCRIPTOR.full_name not in WAITING_REQUEST_TYPES


class CallbackHandler(Protocol):
    """Answers the SDK calls of one run: a RunnerCallbacks request in, its response out (or,
    for an RPC passed through, its bytes)."""

    def call(self, rpc: str, request: Message, deadline: float) -> Message | Serialized:
        """Performs one RPC; raises CorralError for a typed failure."""


@runtime_checkable
class HangsUp(Protocol):
    """A callback handler whose call in progress can be ended from another thread."""

    def hang_up(self) -> None:
        """Ends the call in progress, if any, and refuses later ones: the run has ended."""


class RunCalls:
    """One run's SDK calls, checked requests to ``handler`` with the run's rules applied."""

    def __init__(self, handler: CallbackHandler) -> None:
        self._handler = handler
        self._log_lines = 0
        self._checkpoint_version: int | None = None

    def call(self, rpc: str, request: Message, deadline: float) -> Message | Serialized:
        """Applies the run's rules to ``request``, forwards it and notes what the reply says."""
        if isinstance(request, pb.LogRequest) and not self._log(request):
            return pb.Empty()
        if isinstance(request, pb.SaveCheckpointRequest):
            request.ClearField("expected_version")
            if self._checkpoint_version is not None:
                request.expected_version = self._checkpoint_version
        reply = check_response(rpc, self._handler.call(rpc, request, deadline))
        if isinstance(reply, pb.Checkpoint):
            self._checkpoint_version = reply.version
        return reply

    def _log(self, request: pb.LogRequest) -> bool:
        """Caps a log line in place; False when it is dropped."""
        self._log_lines += 1
        if self._log_lines > MAX_LOG_LINES + 1:
            return False
        request.timestamp = time.time()
        request.message = request.message[:MAX_LOG_BYTES]
        if len(request.meta_json) > MAX_LOG_BYTES:
            cut = [f"(the extra values were cut: over {MAX_LOG_BYTES} bytes)"]
            request.meta_json = json.dumps(cut).encode()
        if not request.meta_json:
            request.meta_json = b"[]"
        if self._log_lines == MAX_LOG_LINES + 1:
            request.level, request.meta_json = "warn", b"[]"
            request.message = (
                f"log limit reached: the run's lines after the first {MAX_LOG_LINES} are dropped"
            )
        return True
