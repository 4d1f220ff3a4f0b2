"""A reply's response travels as its own frame of protobuf bytes, never base64 in JSON."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from corral.v1 import callbacks_pb2 as pb
from runner import _protocol as protocol


def test_a_large_response_is_sent_as_its_bytes_and_read_back() -> None:
    response = pb.ProxyResponse(status=200, body=bytes(range(256)) * 40_000, url="https://x")
    data = response.SerializeToString()
    left, right = socket.socketpair()
    with left, right:
        sender = threading.Thread(
            target=protocol.send_reply, args=(left, 7, data, time.monotonic() + 10)
        )
        sender.start()
        head = protocol.recv(right)
        assert head == {"op": "reply", "id": 7, "ok": True, "raw": len(data)}
        assert pb.ProxyResponse.FromString(bytes(protocol.recv_reply(right, head))) == response
        sender.join()


def test_an_empty_response_is_a_frame_of_nothing() -> None:
    left, right = socket.socketpair()
    with left, right:
        protocol.send_reply(left, 1, b"")
        head = protocol.recv(right)
        assert protocol.recv_reply(right, head) == b""


def test_the_older_base64_form_is_still_read() -> None:
    data = pb.Checkpoint(json=b"{}", version=3).SerializeToString()
    left, right = socket.socketpair()
    with left, right:
        protocol.send(left, protocol.reply_message(2, pb.Checkpoint(json=b"{}", version=3)))
        head = protocol.recv(right)
        assert protocol.recv_reply(right, head) == data


def test_a_response_of_another_size_than_announced_breaks_the_channel() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(protocol.encode({"op": "reply", "id": 1, "ok": True, "raw": 10}))
        left.sendall((3).to_bytes(4, "big") + b"abc")
        head = protocol.recv(right)
        with pytest.raises(protocol.ChannelClosed):
            protocol.recv_reply(right, head)


class _Recorder:
    """A socket that records each ``sendall``."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def settimeout(self, timeout: float | None) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))


def test_an_empty_response_is_sent_in_one_write() -> None:
    # A second, empty write would fail with EPIPE when the worker has already read the reply,
    # finished its run and exited (it did, now and then, in `corral test`).
    sock = _Recorder()
    protocol.send_reply(sock, 1, b"", time.monotonic() + 10)  # type: ignore[arg-type]
    assert len(sock.sent) == 1
    assert sock.sent[0].endswith((0).to_bytes(4, "big"))
