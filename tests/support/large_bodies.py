"""Large response bodies through a real `corral serve`: a local API that serves them, an action
that checks them, and the memory of the processes on the way (``/proc/<pid>/status``).

Used by ``tests/e2e/test_memory.py`` and ``bench/memory.py``.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.service import Service

MiB = 1 << 20

CHECKER = """
import hashlib
from nango import create_action

def run(nango, input):
    response = nango.get(endpoint=input['path'], response_type='arraybuffer')
    return {'size': len(response.data), 'sha256': hashlib.sha256(response.data).hexdigest()}

action = create_action(description='reads a large body', exec=run)
"""
"""An action that fetches ``input.path`` and returns the body's size and sha256."""

_BLOCK = bytes(range(256)) * 4096
"""1 MiB of a pattern; a body is this repeated (and cut), so it is cheap to make and check."""


def body(size: int) -> bytes:
    """The body the API serves for ``size`` bytes."""
    return (_BLOCK * (size // len(_BLOCK) + 1))[:size]


def digest(size: int) -> str:
    """The sha256 of :func:`body` of ``size`` bytes."""
    return hashlib.sha256(body(size)).hexdigest()


@dataclass
class LargeApi:
    """A local HTTP API: ``GET /sized/<n>`` answers n bytes with a content-length, and
    ``GET /streamed/<n>`` n bytes without one (the end of the body is the end of the
    connection), so that only reading it tells its size."""

    url: str


def _handler() -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            kind, _, size_text = self.path.strip("/").partition("/")
            size = int(size_text)
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            if kind == "sized":
                self.send_header("content-length", str(size))
            self.end_headers()
            with suppress(OSError):  # the proxy hangs up on a body over its cap
                for start in range(0, size, len(_BLOCK)):
                    self.wfile.write(_BLOCK[: min(len(_BLOCK), size - start)])

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_large_api() -> Iterator[LargeApi]:
    """A LargeApi on 127.0.0.1, stopped on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LargeApi(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def runner_pid(service: Service) -> int:
    """The pid of the service's (first) local runner, from its start log line."""
    for line in service.stderr_path.read_text().splitlines():
        if '"runner started"' in line:
            return int(json.loads(line)["pid"])
    raise LookupError("no runner started")


def status_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` field in KiB (``VmRSS``: now; ``VmHWM``: the peak)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak(pid: int) -> None:
    """Resets ``VmHWM`` of ``pid`` to its current RSS (``clear_refs`` 5, Linux 4.0+)."""
    pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")
