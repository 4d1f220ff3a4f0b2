"""The intake: checks at once, delivers after, refuses when its queue is full."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from corral.errors import InvalidRequest, NotFound, Unauthenticated, Unavailable
from orchestrator.storage._types import Connection, Environment, Integration
from orchestrator.webhooks import Intake

SECRET = "s3cret"
NOW = datetime.now(UTC)
ENV = Environment(1, "acme/prod", {}, NOW)


class _Store:
    def get_environment(self, name: str) -> Environment:
        if name != ENV.name:
            raise NotFound("no", code="unknown_environment")
        return ENV

    def get_integration(self, env_id: int, unique_key: str) -> Integration:
        if unique_key != "gh":
            raise NotFound("no", code="unknown_integration")
        auth = {"webhook_secret": SECRET}
        return Integration(env_id, "gh", "github", "", "NONE", auth, NOW, NOW)

    def list_connections(self, env_id: int, integration_key: str | None = None) -> list[Connection]:
        return [
            Connection(
                env_id, cid, "gh", "github", "NONE", {}, {"installation_id": n}, {}, "", NOW, NOW
            )
            for cid, n in (("a", "1"), ("b", "2"))
        ]


class _Deliveries:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, Any]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.done = threading.Semaphore(0)

    def __call__(
        self, env: Environment, integration: str, cid: str, kind: str, payload: Any
    ) -> Sequence[str]:
        self.gate.wait(10)
        self.calls.append((integration, cid, kind, payload))
        self.done.release()
        return [f"run-{cid}"]


def _signed(body: bytes, kind: str = "push") -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}", "x-github-event": kind}


def test_a_verified_webhook_is_delivered_to_its_connection() -> None:
    deliveries = _Deliveries()
    intake = Intake(_Store(), deliveries)
    body = b'{"installation": {"id": 2}}'
    intake.accept("acme/prod", "gh", _signed(body), body)
    assert deliveries.done.acquire(timeout=10)
    assert deliveries.calls == [("gh", "b", "push", {"installation": {"id": 2}})]
    intake.close()


def test_unknown_names_get_one_answer_and_checks_come_in_order() -> None:
    intake = Intake(_Store(), _Deliveries())
    codes = set()
    for env, integration in (("nope", "gh"), ("acme/prod", "nope")):
        with pytest.raises(NotFound) as caught:
            intake.accept(env, integration, _signed(b"{}"), b"{}")
        codes.add((caught.value.code, caught.value.message.startswith("no webhook endpoint")))
    assert codes == {("unknown_webhook", True)}
    with pytest.raises(Unauthenticated):  # the signature is checked before the body is read
        intake.accept("acme/prod", "gh", {}, b"not json")
    with pytest.raises(InvalidRequest):
        intake.accept("acme/prod", "gh", _signed(b"not json"), b"not json")
    intake.close()


def test_a_full_queue_refuses_until_it_drains() -> None:
    deliveries = _Deliveries()
    deliveries.gate.clear()  # the first delivery waits: the queue fills behind it
    intake = Intake(_Store(), deliveries, queue_size=2)
    body = b'{"installation": {"id": 1}}'
    accepted, refused = 0, None
    while refused is None and accepted < 5:
        try:
            intake.accept("acme/prod", "gh", _signed(body), body)
            accepted += 1
        except Unavailable as exc:
            refused = exc
    assert refused is not None
    assert refused.code == "webhook_queue_full"
    assert accepted in (2, 3)  # the one being delivered may have left the queue already
    deliveries.gate.set()
    for _ in range(accepted):
        assert deliveries.done.acquire(timeout=10)
    intake.accept("acme/prod", "gh", _signed(body), body)
    intake.close()
    assert len(deliveries.calls) == accepted + 1  # close delivers what was queued
