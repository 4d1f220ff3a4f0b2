"""A breached worker: in place of its containment, it plays a script of raw bytes at the host.

The worker is forked for real from the warm parent; ``Scripted.apply`` runs where the worker
would contain itself, so what the host sees is exactly what an attacker controlling the worker
process could send. The script gets the socket (the run message already sent to it) and the
worker exits when the script returns.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from runner.host._host import Job, Outcome, RunnerHost
from runner.host._warm import warm
from runner.sdk._wire import response_type

Script = Callable[[socket.socket], None]


class Scripted:
    """Containment that runs ``script`` on the worker's socket, then ends the worker."""

    def __init__(self, script: Script) -> None:
        self.script = script

    def prepare_idle(self, sock: socket.socket) -> None:
        """Nothing to prepare."""

    def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
        """Plays the script in the worker, and never returns to the real worker code."""
        try:
            self.script(sock)
        finally:
            os._exit(0)

    def cleanup(self, pid: int) -> None:
        """Nothing to clean."""


def frame(body: bytes | dict[str, Any] | list[Any]) -> bytes:
    """A length-prefixed frame around raw bytes (or a message, dumped as it is)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return len(data).to_bytes(4, "big") + data


def sends(*frames: bytes) -> Script:
    """A script that sends these frames and exits."""

    def script(sock: socket.socket) -> None:
        for data in frames:
            sock.sendall(data)

    return script


def converses(*frames: bytes) -> Script:
    """A script that sends these frames and, like an honest worker, waits for the reply to
    each call before it goes on (so it never exits while the host still answers it)."""

    def script(sock: socket.socket) -> None:
        sock.settimeout(REPLY_WAIT_SECONDS)
        for data in frames:
            sock.sendall(data)
            if _is_call(data) and not _read_reply(sock):
                return  # the host ended the run instead of answering

    return script


REPLY_WAIT_SECONDS = 30.0
"""How long a conversing script waits for a reply (far more than any host takes)."""


def _is_call(data: bytes) -> bool:
    try:
        message = json.loads(data[4:])
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("op") == "call"


def _read_reply(sock: socket.socket) -> bytes:
    """A whole reply from the host: its frame, and the response's frame after it when it
    announces one (``raw``); b"" when the host closed the socket."""
    data = _read_frame(sock)
    try:
        message = json.loads(data) if data else {}
    except ValueError:
        return data
    if isinstance(message, dict) and isinstance(message.get("raw"), int):
        try:
            header = _read_exactly(sock, 4)
            if not header or len(_read_exactly(sock, message["raw"])) != message["raw"]:
                return b""
        except OSError:
            return b""
    return data


def _read_frame(sock: socket.socket) -> bytes:
    """One whole frame from the host, or b"" when it closed the socket."""
    try:
        header = _read_exactly(sock, 4)
        return _read_exactly(sock, int.from_bytes(header, "big")) if header else b""
    except OSError:
        return b""


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def trickles(data: bytes, pause: float) -> Script:
    """A script that sends ``data`` one byte at a time, ``pause`` seconds apart."""

    def script(sock: socket.socket) -> None:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(pause)

    return script


def job(**limits: Any) -> Job:
    """A run for a hostile worker (its code never runs)."""
    source = "from nango import create_action\n"
    return Job(
        run_id=f"h-{os.urandom(4).hex()}",
        kind="action",
        function_name="f",
        entry="f.py",
        files={"f.py": source},
        **limits,
    )


class Answers:
    """A callback handler that records the calls it answers (RPC name and request)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Message]] = []

    def call(self, rpc: str, request: Message, deadline: float) -> Message:
        self.calls.append((rpc, request))
        return response_type(rpc)()


def play(script: Script, handler: Answers | None = None, **limits: Any) -> Outcome:
    """Runs one job against a worker playing ``script``."""
    host = RunnerHost(Scripted(script), warm, prewarm=0)
    try:
        return host.execute(job(**limits), handler or Answers())
    finally:
        host.close()
