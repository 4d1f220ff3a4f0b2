"""A local HTTP server that plays an external API in tests, and records what reached it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[["Seen"], tuple[int, Any, dict[str, str]]]


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """Routes (method, path without query) to handlers; records every request."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def route(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answers ``method path`` with a fixed response."""
        self.routes[(method, path)] = lambda _seen: (status, body, headers or {})


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            seen = Seen(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            api.seen.append(seen)
            route = api.routes.get((self.command, self.path.split("?")[0]))
            status, body, headers = route(seen) if route else (404, {"message": "not found"}, {})
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_fake_api() -> Iterator[FakeApi]:
    """A FakeApi listening on 127.0.0.1, stopped on exit."""
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def running_hanging_api() -> Iterator[FakeApi]:
    """A FakeApi whose ``GET /hang`` answers only when the block ends (an upstream that never
    answers while the test looks)."""
    release = threading.Event()

    def hang(_seen: Seen) -> tuple[int, Any, dict[str, str]]:
        release.wait(60)
        return 200, {}, {}

    with running_fake_api() as api:
        api.routes[("GET", "/hang")] = hang
        try:
            yield api
        finally:
            release.set()


@contextmanager
def running_held_api(answer: Any) -> Iterator[tuple[FakeApi, threading.Event]]:
    """A FakeApi with ``GET /hang``, answered only when the block ends, and ``GET /slow``,
    answered with ``answer`` once the event given back is set."""
    slow = threading.Event()

    def slowly(_seen: Seen) -> tuple[int, Any, dict[str, str]]:
        slow.wait(60)
        return 200, answer, {}

    with running_hanging_api() as api:
        api.routes[("GET", "/slow")] = slowly
        try:
            yield api, slow
        finally:
            slow.set()
