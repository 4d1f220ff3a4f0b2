"""The HTTP endpoint providers call: ``POST /webhook/{environment}/{integration}``.

Served by ``corral serve`` on ``CORRAL_WEBHOOK_ADDRESS`` (off when empty). It answers at once:
202 once the webhook is verified and stored (``_intake``), 200 with ``{"challenge": ...}`` to
a verified verification request (Slack's ``url_verification``), 401 for a missing or wrong
signature, 400 for a body that is not JSON or an event type that is not printable text, or a
Content-Length that is not ASCII digits (or is given twice) or any Transfer-Encoding (which a
proxy in front might read otherwise: request smuggling), 404 for an unknown environment or
integration, 411 without a Content-Length, 413 for a body over
``MAX_BODY_BYTES``, 503 when too many of the environment's webhooks wait or the store cannot
take it, 500 (logged) for anything else: every request gets an answer. At most
``MAX_CONNECTIONS`` connections are served at once, one request each, and a connection has
``REQUEST_DEADLINE_SECONDS`` from its accept to send its whole request (request line, headers
and body): every read waits only for the time left, and past it the connection is answered 408
(if it takes the answer within ``WRITE_TIMEOUT_SECONDS``) and closed, so a client that drips
its bytes holds a slot no longer than the deadline. Environment names with a ``/`` are written
with it escaped (``acme%2Fprod``).
"""

from __future__ import annotations

import io
import json
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import unquote

import structlog

from corral._metrics import listen_error
from corral._settings import split_address
from corral.errors import CorralError, InvalidRequest, NotFound, Unauthenticated, Unavailable
from orchestrator.webhooks._intake import Intake

_log = structlog.get_logger("corral.webhooks")

MAX_BODY_BYTES = 1 << 20
"""The largest webhook body read (1 MiB; GitHub's payloads are capped at 25 MB but are far
smaller in practice, Slack's are a few KiB)."""

REQUEST_DEADLINE_SECONDS = 10.0
"""How long a connection may take, from its accept, to send its whole request (a slow sender
holds a thread and one of the ``MAX_CONNECTIONS`` slots; a deadline per read would let one
that drips a byte at a time hold it for ever)."""

WRITE_TIMEOUT_SECONDS = 2.0
"""How long an answer (a few hundred bytes) may wait for a client that does not read."""

MAX_CONNECTIONS = 64
"""Connections served at once; more are closed at once (their senders retry)."""

SETTING = "CORRAL_WEBHOOK_ADDRESS"

_DIGITS = re.compile(r"[0-9]+")
"""A number in a request: ASCII digits only (``str.isdigit`` and ``int`` take any Unicode
digit, ``int`` also signs, spaces and ``_``)."""

_STATUS: dict[type[CorralError], HTTPStatus] = {
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    InvalidRequest: HTTPStatus.BAD_REQUEST,
    NotFound: HTTPStatus.NOT_FOUND,
    Unavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


def _route(path: str) -> tuple[str, str] | None:
    """The environment and integration of ``/webhook/{environment}/{integration}``."""
    parts = path.split("?", 1)[0].split("/")
    if len(parts) != 4 or parts[:2] != ["", "webhook"] or not parts[2] or not parts[3]:
        return None
    return unquote(parts[2]), unquote(parts[3])


class _Late(Exception):
    """The connection's request deadline passed while its request was being read."""


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each waiting only for what is left of one deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Reads what the socket has, or raises ``_Late`` once the deadline has passed."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise _Late
        self._sock.settimeout(left)
        try:
            return self._sock.recv_into(buffer)
        except TimeoutError:
            raise _Late from None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def __init__(self, request: Any, client_address: Any, server: _Server, deadline: float) -> None:
        self.deadline = deadline
        self.requestline = ""  # what the 408 of a request line never sent logs
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        """Reads the request through the connection's deadline (see the module's docstring)."""
        super().setup()
        self.rfile.close()  # the socket's own file: it would keep the socket open
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self.deadline))

    def handle(self) -> None:
        """Serves one request; one that is late is answered 408 if the client takes it."""
        self.close_connection = True
        try:
            try:
                self.handle_one_request()
            except _Late:
                self.request_version = self.protocol_version  # even before a request line
                self._answer(HTTPStatus.REQUEST_TIMEOUT, "request_timeout", "request too slow")
        except OSError:  # the client went away, or took no answer within the write timeout
            return

    def do_POST(self) -> None:
        """Checks and queues one webhook."""
        route = _route(self.path)
        if route is None:
            self._answer(HTTPStatus.NOT_FOUND, "not_found", "POST /webhook/ENV/INTEGRATION")
            return
        length = self._length()
        if length is None:
            return
        if length > MAX_BODY_BYTES:
            self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", "body too large")
            return
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            answer = self.server.intake.accept(*route, headers, body)
        except CorralError as exc:
            status = _STATUS.get(type(exc), HTTPStatus.INTERNAL_SERVER_ERROR)
            self._answer(status, exc.code, exc.message)
            return
        except Exception:  # every request gets an answer; the cause goes to the log
            _log.exception("webhook failed", environment=route[0], integration=route[1])
            self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, "internal", "the webhook failed")
            return
        if answer is not None:
            self._send(HTTPStatus.OK, {"challenge": answer})
            return
        self._answer(HTTPStatus.ACCEPTED, "accepted", "queued")

    def _length(self) -> int | None:
        """The body's length (``MAX_BODY_BYTES + 1`` for any longer one), or ``None`` once a
        missing or malformed Content-Length is answered."""
        if self.headers.get_all("Transfer-Encoding"):
            # Read by its Content-Length, the body would end elsewhere than for a proxy in front
            # that reads it chunked (request smuggling): a request with both is refused.
            message = "Transfer-Encoding is not accepted: send the body with a Content-Length"
            self._answer(HTTPStatus.BAD_REQUEST, "invalid_transfer_encoding", message)
            return None
        given = self.headers.get_all("Content-Length") or []
        if not given:
            self._answer(HTTPStatus.LENGTH_REQUIRED, "length_required", "a Content-Length")
            return None
        value = given[0].strip(" \t")
        if len(given) > 1 or not _DIGITS.fullmatch(value):
            message = "the Content-Length must be one number of ASCII digits"
            self._answer(HTTPStatus.BAD_REQUEST, "invalid_content_length", message)
            return None
        value = value.lstrip("0") or "0"
        return int(value) if len(value) <= len(str(MAX_BODY_BYTES)) else MAX_BODY_BYTES + 1

    def do_GET(self) -> None:
        """Refuses: webhooks are POSTed."""
        self._answer(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", "webhooks are POSTed")

    def _answer(self, status: HTTPStatus, code: str, message: str) -> None:
        self._send(status, {"code": code, "message": message})

    def _send(self, status: HTTPStatus, content: dict[str, str]) -> None:
        data = json.dumps(content).encode()
        self.connection.settimeout(WRITE_TIMEOUT_SECONDS)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status is HTTPStatus.SERVICE_UNAVAILABLE:
            self.send_header("Retry-After", "5")
        self.send_header("Connection", "close")  # one request per connection (its deadline)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the intake logs what matters (never headers or bodies)."""


class _Server(HTTPServer):
    """An ``HTTPServer`` serving each connection in a daemon thread of its own (what
    ``ThreadingHTTPServer`` does), with a slot and a request deadline."""

    def __init__(self, address: tuple[str, int], intake: Intake) -> None:
        self.intake = intake
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        # the class is never called by socketserver: _serve makes each _Handler with its deadline
        super().__init__(address, BaseHTTPRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serves the connection in a thread of its own, if one of the slots is free; its
        request deadline starts now, at its accept."""
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        deadline = time.monotonic() + REQUEST_DEADLINE_SECONDS
        try:
            threading.Thread(
                target=self._serve, args=(request, client_address, deadline), daemon=True
            ).start()
        except BaseException:
            self._slots.release()
            self.shutdown_request(request)
            raise

    def _serve(self, request: Any, client_address: Any, deadline: float) -> None:
        """Serves one connection, then closes it and frees its slot."""
        try:
            _Handler(request, client_address, self, deadline)
        except Exception:  # what socketserver does: log it and keep serving
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()


class WebhookEndpoint:
    """The webhook endpoint, served by a thread of its own until ``close``."""

    def __init__(self, address: str, intake: Intake) -> None:
        """Listens on ``address`` (``host:port``; port 0: any) and owns ``intake`` (closed
        with the endpoint, or at once when it cannot listen).

        Raises:
            Unavailable: ``address_in_use``.
            InvalidRequest: ``invalid_setting``, an address this process cannot listen on.
        """
        self._intake = intake
        try:
            self._server = _Server(split_address(address), intake)
        except OSError as exc:
            intake.close()
            raise listen_error(exc, address, SETTING, "webhooks") from None
        self.port = int(self._server.server_address[1])
        """The port bound."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-endpoint", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stops answering, then delivers what was queued."""
        self._server.shutdown()
        self._server.server_close()
        self._intake.close()
