"""Frames between the runner host and its workers: a 4-byte big-endian length, then JSON.

Messages (all JSON objects with an ``op``):

- runner -> worker ``run``: ``{op, run_id, mode, kind, function_name, entry, files, input,
  context, limits}``; ``mode`` is "run" or "describe".
- worker -> runner ``call``: ``{op, id, rpc, request}``: one RunnerCallbacks RPC of an SDK
  operation, ``rpc`` its name and ``request`` its request message (protobuf bytes, base64).
- runner -> worker ``reply``: ``{op, id, ok: true, raw: n}``, then a frame of ``n`` bytes that
  is the RPC's response message (protobuf bytes, not JSON: a response of tens of MB is sent as
  it is, never base64 in JSON, which took five copies of it); or ``{op, id, ok: true,
  response}`` (the message as base64, the older form a worker still reads); or
  ``{op, id, ok: false, error}``.
- worker -> runner ``done``: ``{op, ok, output}`` or ``{op, ok: false, error}``.
- worker -> runner ``violation``: ``{op, rule, message, file, line}``: a sandbox guard refused
  something, sent the moment it happens (before function code could catch it); the runner ends
  the run there.

The runner checks every frame a worker sends (``runner.host._frames``).
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from typing import Any

from google.protobuf.message import Message

from corral.errors import RunFailure

_HEADER = struct.Struct(">I")
MAX_FRAME = 256 << 20
"""No frame may be larger than this, whatever the run's output limit."""
EXIT_OUT_OF_MEMORY = 71
"""Exit code of a worker that ran out of memory and could not even send its result."""


class ChannelClosed(Exception):
    """The other end closed the channel, died, or broke it (reset, broken pipe)."""


class FrameTimeout(Exception):
    """The deadline passed before a whole frame was sent or received."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame for a message."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    data = body.encode()
    return _HEADER.pack(len(data)) + data


def call_message(call_id: int, rpc: str, request: Message) -> dict[str, Any]:
    """The ``call`` message of one RPC."""
    data = base64.b64encode(request.SerializeToString()).decode()
    return {"op": "call", "id": call_id, "rpc": rpc, "request": data}


def reply_message(call_id: int, response: Message) -> dict[str, Any]:
    """The ``reply`` message with an RPC's response."""
    data = base64.b64encode(response.SerializeToString()).decode()
    return {"op": "reply", "id": call_id, "ok": True, "response": data}


def send(sock: socket.socket, message: dict[str, Any], deadline: float | None = None) -> None:
    """Sends one message, all of it before ``deadline`` (a ``time.monotonic()`` instant).

    Raises:
        ChannelClosed: the peer closed or broke the channel.
        FrameTimeout: the deadline passed first (a peer that does not read).
    """
    _send_all(sock, (encode(message),), deadline)


def send_reply(
    sock: socket.socket, call_id: int, data: bytes, deadline: float | None = None
) -> None:
    """Sends the reply with an RPC's response: a ``reply`` message naming its size, then the
    response message's bytes (``data``) as a frame of their own (read by :func:`recv_reply`).

    Raises:
        ChannelClosed: the peer closed or broke the channel.
        FrameTimeout: the deadline passed first (a peer that does not read).
    """
    heads = encode({"op": "reply", "id": call_id, "ok": True, "raw": len(data)})
    heads += _HEADER.pack(len(data))
    # Nothing more is sent for an empty response: a send of nothing to a worker that has read
    # all it needed and exited would fail (EPIPE) after its run is over.
    _send_all(sock, (heads, data) if data else (heads,), deadline)


def recv_reply(sock: socket.socket, message: dict[str, Any]) -> bytes | bytearray:
    """The response message's bytes of an ok ``reply`` (the frame after it, or its base64).

    Raises:
        ChannelClosed: the peer closed the channel, or the frame is not the size announced.
    """
    size = message.get("raw")
    if size is None:
        return base64.b64decode(message.get("response") or "")
    data = recv_bytes(sock, MAX_FRAME)
    if len(data) != size:
        raise ChannelClosed("a reply's response is not the size announced")
    return data


def _send_all(sock: socket.socket, parts: tuple[bytes, ...], deadline: float | None = None) -> None:
    """Sends ``parts`` one after the other (never joined: a large part is not copied)."""
    try:
        for part in parts:
            if deadline is not None:
                # Since Python 3.5 the timeout bounds the whole sendall, not each chunk.
                sock.settimeout(_remaining(deadline))
            sock.sendall(part)
    except TimeoutError:
        raise FrameTimeout("the peer did not take the message in time") from None
    except OSError as exc:
        raise ChannelClosed(f"channel broken ({type(exc).__name__})") from None


def recv(sock: socket.socket, max_bytes: int = MAX_FRAME) -> dict[str, Any]:
    """Receives one message from a trusted peer (the worker's side).

    Raises:
        ChannelClosed: the peer closed the channel.
        RunFailure: resource_exhausted when the frame is larger than ``max_bytes``.
    """
    message = json.loads(recv_bytes(sock, max_bytes))
    if not isinstance(message, dict):
        raise ChannelClosed("malformed frame")
    return message


def recv_bytes(
    sock: socket.socket, max_bytes: int, deadline: float | None = None
) -> bytes | bytearray:
    """The body of one frame, all of it received before ``deadline``.

    The deadline holds across partial reads: a peer sending one byte at a time cannot stretch
    it, as a timeout per read would let it.

    Raises:
        ChannelClosed: the peer closed or broke the channel.
        FrameTimeout: the deadline passed first.
        RunFailure: resource_exhausted when the frame is larger than ``max_bytes``.
    """
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size, deadline))
    if size > max_bytes:
        raise RunFailure(
            "resource_exhausted",
            f"a message of {size} bytes exceeds the limit of {max_bytes} bytes",
            payload={"resource": "output", "limit": max_bytes},
        )
    return _read_exactly(sock, size, deadline)


def _read_exactly(sock: socket.socket, size: int, deadline: float | None) -> bytearray:
    """``size`` bytes read into one buffer, grown as they arrive (a peer announcing a large
    frame and sending little does not get it allocated) and returned as it is, not copied."""
    buffer = bytearray()
    while len(buffer) < size:
        try:
            if deadline is not None:
                sock.settimeout(_remaining(deadline))
            chunk = sock.recv(min(size - len(buffer), 1 << 20))
        except TimeoutError:
            raise FrameTimeout("no whole message before the deadline") from None
        except OSError as exc:
            raise ChannelClosed(f"channel broken ({type(exc).__name__})") from None
        if not chunk:
            raise ChannelClosed("channel closed")
        buffer += chunk
    return buffer


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FrameTimeout("the deadline has passed")
    return remaining
