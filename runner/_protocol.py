"""Frames between the runner host and its workers: a 4-byte big-endian length, then JSON.

Messages (all JSON objects with an ``op``):

- runner -> worker ``run``: ``{op, run_id, mode, kind, function_name, entry, files, input,
  context, limits}``; ``mode`` is "run" or "describe".
- worker -> runner ``call``: ``{op, id, method, args}``: one SDK operation.
- runner -> worker ``reply``: ``{op, id, ok, value}`` or ``{op, id, ok: false, error}``.
- worker -> runner ``done``: ``{op, ok, output}`` or ``{op, ok: false, error}``.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

from corral.errors import RunFailure

_HEADER = struct.Struct(">I")
MAX_FRAME = 256 << 20
"""No frame may be larger than this, whatever the run's output limit."""
EXIT_OUT_OF_MEMORY = 71
"""Exit code of a worker that ran out of memory and could not even send its result."""


class ChannelClosed(Exception):
    """The other end closed the channel (or died)."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame for a message."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    data = body.encode()
    return _HEADER.pack(len(data)) + data


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Sends one message."""
    sock.sendall(encode(message))


def recv(sock: socket.socket, max_bytes: int = MAX_FRAME) -> dict[str, Any]:
    """Receives one message.

    Raises:
        ChannelClosed: the peer closed the channel.
        RunFailure: resource_exhausted when the frame is larger than ``max_bytes``.
    """
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size))
    if size > max_bytes:
        raise RunFailure(
            "resource_exhausted",
            f"a message of {size} bytes exceeds the limit of {max_bytes} bytes",
            payload={"resource": "output", "limit": max_bytes},
        )
    message = json.loads(_read_exactly(sock, size))
    if not isinstance(message, dict):
        raise ChannelClosed("malformed frame")
    return message


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise ChannelClosed("channel closed")
        chunks += chunk
    return bytes(chunks)
