"""The webhook endpoint serves a bounded number of connections at once."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from corral.errors import NotFound, Unavailable
from orchestrator.storage._types import Environment
from orchestrator.webhooks import Intake, WebhookEndpoint, _endpoint


class _NoStore:
    def get_environment(self, name: str) -> Environment:
        raise NotFound("no", code="unknown_environment")

    def get_integration(self, env_id: int, unique_key: str) -> Any:
        raise NotFound("no", code="unknown_integration")

    def list_connections(self, env_id: int, integration_key: str | None = None) -> list[Any]:
        return []


def _deliver(*args: Any) -> Sequence[str]:
    return []


def test_connections_over_the_bound_are_closed_until_one_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_endpoint, "MAX_CONNECTIONS", 2)
    endpoint = WebhookEndpoint("127.0.0.1:0", Intake(_NoStore(), _deliver))
    url = f"http://127.0.0.1:{endpoint.port}/webhook/dev/gh"
    idle = [socket.create_connection(("127.0.0.1", endpoint.port)) for _ in range(2)]
    try:
        with pytest.raises(httpx.TransportError):
            httpx.post(url, content=b"{}", timeout=5)
    finally:
        for sock in idle:
            sock.close()
    for _ in range(50):
        try:
            answer = httpx.post(url, content=b"{}", timeout=5)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    assert answer.status_code == 404
    endpoint.close()


def test_a_port_in_use_is_named() -> None:
    first = WebhookEndpoint("127.0.0.1:0", Intake(_NoStore(), _deliver))
    try:
        with pytest.raises(Unavailable) as caught:
            WebhookEndpoint(f"127.0.0.1:{first.port}", Intake(_NoStore(), _deliver))
        assert "CORRAL_WEBHOOK_ADDRESS" in caught.value.message
    finally:
        first.close()


def test_a_failure_the_intake_did_not_expect_is_answered_500() -> None:
    """Every request gets an answer (the cause goes to the log), not a closed connection."""

    class Failing:
        def accept(self, *args: Any) -> None:
            raise RuntimeError("a bug")

        def close(self) -> None:
            pass

    endpoint = WebhookEndpoint("127.0.0.1:0", Failing())  # type: ignore[arg-type]
    try:
        answer = httpx.post(f"http://127.0.0.1:{endpoint.port}/webhook/dev/gh", content=b"{}")
    finally:
        endpoint.close()
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal"


def _drip(port: int, seconds: float, stop: float) -> tuple[bytes, float]:
    """Sends a request's headers, then a body byte every ``seconds`` until ``stop`` seconds
    passed or the endpoint ends the connection: what it answered and when."""
    start = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(seconds)
    sock.sendall(b"POST /webhook/dev/gh HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    answer = b""
    try:
        while time.monotonic() - start < stop:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                sock.sendall(b"x")
                continue
            if not chunk:
                break
            answer += chunk
    except OSError:
        pass
    finally:
        sock.close()
    return answer, time.monotonic() - start


def test_a_client_dripping_its_request_is_answered_408_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deadline is for the whole request, not each read: a byte every 0.2 s does not
    keep a connection past a 1 s deadline."""
    monkeypatch.setattr(_endpoint, "REQUEST_DEADLINE_SECONDS", 1.0)
    endpoint = WebhookEndpoint("127.0.0.1:0", Intake(_NoStore(), _deliver))
    try:
        answer, took = _drip(endpoint.port, 0.2, stop=6.0)
    finally:
        endpoint.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request_timeout" in answer
    assert 0.9 < took < 3.0


def test_a_request_line_never_finished_is_answered_408_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_endpoint, "REQUEST_DEADLINE_SECONDS", 0.5)
    endpoint = WebhookEndpoint("127.0.0.1:0", Intake(_NoStore(), _deliver))
    try:
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as sock:
            sock.sendall(b"POST /webhook/d")
            answer = sock.recv(4096)
    finally:
        endpoint.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_webhooks_are_answered_while_slow_clients_hold_every_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slow clients take every slot, but only until the deadline: a webhook sent while they
    keep dripping is answered once their slots free, without waiting for them to stop."""
    monkeypatch.setattr(_endpoint, "MAX_CONNECTIONS", 4)
    monkeypatch.setattr(_endpoint, "REQUEST_DEADLINE_SECONDS", 1.0)
    endpoint = WebhookEndpoint("127.0.0.1:0", Intake(_NoStore(), _deliver))
    url = f"http://127.0.0.1:{endpoint.port}/webhook/dev/gh"
    drips = [
        threading.Thread(target=_drip, args=(endpoint.port, 0.2, 8.0), daemon=True)
        for _ in range(4)
    ]
    try:
        for drip in drips:
            drip.start()
        time.sleep(0.3)
        start = time.monotonic()
        answer = None
        while answer is None and time.monotonic() - start < 5:
            try:
                answer = httpx.post(url, content=b"{}", timeout=5)
            except httpx.TransportError:
                time.sleep(0.05)
        took = time.monotonic() - start
    finally:
        endpoint.close()
    assert answer is not None
    assert answer.status_code == 404
    assert took < 3.0
