"""The webhook endpoint serves a bounded number of connections at once."""

from __future__ import annotations

import socket
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
