"""The worker's end of the SDK calls: each ``nango`` operation sent to the runner host as its
RunnerCallbacks request message(s), and the replies read, over the run's socket."""

from __future__ import annotations

import socket
from typing import Any, cast

from google.protobuf.message import Message

from corral.errors import RunFailure
from corral.v1 import callbacks_pb2 as pb
from runner import _protocol as protocol
from runner.sdk import _wire as _sdk_wire
from runner.sdk._response import NangoError
from runner.worker._failures import NOT_JSON, reason

_INVALID_ARGUMENTS = {
    "batch_save": "invalid_sync_record",
    "batch_update": "invalid_sync_record",
    "batch_delete": "invalid_sync_record",
    "save_checkpoint": "invalid_checkpoint",
}
_FULL_AFTER_MISS = 8
"""Batches of a model sent in full after a hashes-first one whose records the store mostly
did not hold (a first sync, or records that change): each would otherwise cost a call more."""


class Channel:
    """Sends SDK calls to the runner and waits for each reply."""

    def __init__(self, sock: socket.socket, max_frame: int = protocol.MAX_FRAME) -> None:
        self._sock = sock
        self._next_id = 0
        self._max_message = _sdk_wire.message_budget(max_frame)
        self._full_saves: dict[str, int] = {}
        """Per model, how many more batches go in full before one goes hashes first again."""

    def call(self, method: str, args: dict[str, Any]) -> Any:
        """One SDK operation: its RunnerCallbacks request message(s) sent, the replies read.

        A ``batch_save`` goes hashes first (``_sdk_wire.hashes_first``) while the store keeps
        answering that it holds at least half of a batch's records unchanged; after a batch it
        did not, the next :data:`_FULL_AFTER_MISS` batches of that model go in full."""
        try:
            first = (
                _sdk_wire.hashes_first(str(args["model"]), list(args["records"]), self._max_message)
                if method == "batch_save" and self._try_hashes_first(str(args["model"]))
                else None
            )
            calls = [] if first else list(_sdk_wire.requests(method, args, self._max_message))
        except NOT_JSON as exc:
            raise RunFailure(
                _INVALID_ARGUMENTS.get(method, "script_internal_error"),
                f"the values given to nango.{method}() are not valid JSON ({reason(exc)})",
            ) from None
        if first is not None:
            return self._save_hashes_first(*first)
        return _sdk_wire.combine([self._send(rpc, request) for rpc, request in calls])

    def _try_hashes_first(self, model: str) -> bool:
        waiting = self._full_saves.get(model, 0)
        if waiting:
            self._full_saves[model] = waiting - 1
        return not waiting

    def _save_hashes_first(self, batch: pb.RecordBatch, encoded: list[bytes]) -> Any:
        """Sends a batch's ids and digests, then the records the store does not hold unchanged
        (every record, when the answer names none: a handler that knows nothing of hashes
        first loses nothing)."""
        result = self._exchange("BatchSave", batch)
        assert isinstance(result, pb.RecordBatchResult)  # noqa: S101 - BatchSave's reply type
        held = set(result.held)
        rest = [data for n, data in enumerate(encoded) if n not in held]
        if 2 * len(rest) > len(encoded):
            self._full_saves[batch.model] = _FULL_AFTER_MISS
        parts = _sdk_wire.packed(batch.model, rest, self._max_message) if rest else []
        counts = [_sdk_wire.value(result)]
        return _sdk_wire.combine(counts + [self._send("BatchSave", part) for part in parts])

    def _send(self, rpc: str, request: Message) -> Any:
        return _sdk_wire.value(self._exchange(rpc, request))

    def _exchange(self, rpc: str, request: Message) -> Message:
        self._next_id += 1
        self._sock.sendall(protocol.encode(protocol.call_message(self._next_id, rpc, request)))
        reply = protocol.recv(self._sock)
        if reply.get("ok"):
            data = protocol.recv_reply(self._sock, reply)
            # upb parses any buffer; its stubs say bytes, and bytes() would copy a large body.
            response = _sdk_wire.response_type(rpc).FromString(cast("bytes", data))
            del data  # the message holds its own copy
            return response
        error = reply.get("error") or {}
        raise NangoError(
            str(error.get("type") or "script_internal_error"),
            str(error.get("message") or "the call failed"),
            payload=error.get("payload"),
        )
