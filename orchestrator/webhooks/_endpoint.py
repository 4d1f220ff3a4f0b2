"""The HTTP endpoint providers call: ``POST /webhook/{environment}/{integration}``.

Served by ``corral serve`` on ``CORRAL_WEBHOOK_ADDRESS`` (off when empty). It answers at once:
202 once the webhook is verified and stored (``_intake``), 200 with ``{"challenge": ...}`` to
a verified verification request (Slack's ``url_verification``), 401 for a missing or wrong
signature, 400 for a body that is not JSON or an event type that is not printable text, or a
Content-Length that is not ASCII digits (or is given twice), 404 for an unknown environment or
integration, 411 without a Content-Length, 413 for a body over
``MAX_BODY_BYTES``, 503 when too many of the environment's webhooks wait or the store cannot
take it, 500 (logged) for anything else: every request gets an answer. At most
``MAX_CONNECTIONS`` connections are served at once. Environment names with a ``/`` are written
with it escaped (``acme%2Fprod``).
"""

from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

READ_TIMEOUT_SECONDS = 10.0
"""How long a connection may take to send its request (a slow sender holds a thread)."""

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


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = READ_TIMEOUT_SECONDS
    protocol_version = "HTTP/1.1"

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
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status is HTTPStatus.SERVICE_UNAVAILABLE:
            self.send_header("Retry-After", "5")
        if status >= HTTPStatus.BAD_REQUEST:  # what is left of the request is not read
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the intake logs what matters (never headers or bodies)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], intake: Intake) -> None:
        self.intake = intake
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serves the connection in a thread of its own, if one of the slots is free."""
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serves one connection, then frees its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
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
