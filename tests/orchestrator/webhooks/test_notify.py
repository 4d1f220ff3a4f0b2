"""Sync result notifications: signed, retried with backoff after 5xx, refused by the egress
guard, never raised into the run's path."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from orchestrator.proxy._egress import EgressPolicy, pinned_transport
from orchestrator.storage._types import Environment, Run
from orchestrator.webhooks import ATTEMPTS, SIGNATURE_HEADER, TIMESTAMP_HEADER, Notifier, RunTally
from tests.support.fake_api import FakeApi, Seen, running_fake_api

SECRET = "whsec_test"
NOW = datetime.now(UTC)


def _run(kind: str = "sync", state: str = "succeeded", error: Any = None) -> Run:
    return Run(
        "run-1", 1, "items", "shop", kind, "c1", "base", state, "null", None, error, None,
        NOW, NOW, NOW,
    )  # fmt: skip


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with running_fake_api() as fake:
        yield fake


READ: list[str] = []
"""The runs whose counts were read from the (stand-in) store."""


def _stored(run_id: str) -> dict[str, dict[str, int]]:
    """The store's counts of ``run-1`` (its writes added them up)."""
    READ.append(run_id)
    return {"Item": {"added": 3, "updated": 1, "deleted": 3}} if run_id == "run-1" else {}


def _notifier(api: FakeApi, egress: EgressPolicy, secret: str = SECRET) -> Notifier:
    settings = {"notifications": {"url": api.url + "/hook", "secret": secret}}
    env = Environment(1, "acme/prod", settings, NOW)
    http = httpx.Client(transport=pinned_transport(egress))
    tally = RunTally(_stored)
    tally.requested("run-1")
    notifier = Notifier(http, egress, tally, lambda env_id: env, backoff_seconds=0.05)
    notifier.tally = tally  # type: ignore[attr-defined]
    return notifier


def _answers(api: FakeApi, statuses: list[int]) -> threading.Event:
    done = threading.Event()

    def answer(_seen: Seen) -> tuple[int, Any, dict[str, str]]:
        status = statuses.pop(0) if statuses else 200
        if status < 300:
            done.set()
        return status, {}, {}

    api.routes[("POST", "/hook")] = answer
    return done


def _verified(seen: Seen) -> dict[str, Any]:
    stamp = seen.headers[TIMESTAMP_HEADER.lower()].encode()
    digest = hmac.new(SECRET.encode(), stamp + b"." + seen.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(seen.headers[SIGNATURE_HEADER.lower()], "v1=" + digest)
    loaded: dict[str, Any] = json.loads(seen.body)
    return loaded


def test_a_sync_outcome_is_signed_and_sent_again_after_500s(api: FakeApi) -> None:
    done = _answers(api, [500, 503])
    notifier = _notifier(api, EgressPolicy(allow_private=True))
    notifier.run_ended(_run())
    assert done.wait(10)
    notifier.close()
    assert len(api.seen) == 3
    bodies = [_verified(seen) for seen in api.seen]
    assert bodies[0] == bodies[-1]
    assert bodies[0]["models"] == {"Item": {"added": 3, "updated": 1, "deleted": 3}}
    assert (bodies[0]["run_id"], bodies[0]["sync"], bodies[0]["success"]) == (
        "run-1",
        "items",
        True,
    )
    assert (bodies[0]["connection_id"], bodies[0]["environment"]) == ("c1", "acme/prod")


def test_retries_stop_after_the_last_attempt_and_on_a_4xx(api: FakeApi) -> None:
    _answers(api, [500] * (ATTEMPTS + 3))
    notifier = _notifier(api, EgressPolicy(allow_private=True))
    notifier.run_ended(_run(state="failed", error={"type": "script_http_error", "message": "x"}))
    for _ in range(200):
        if len(api.seen) >= ATTEMPTS:
            break
        threading.Event().wait(0.05)
    threading.Event().wait(0.5)
    assert len(api.seen) == ATTEMPTS
    body = _verified(api.seen[0])
    assert body["success"] is False
    assert body["error"] == {"type": "script_http_error", "message": "x"}
    api.seen.clear()
    _answers(api, [400, 500])
    notifier.run_ended(_run())
    threading.Event().wait(0.5)
    notifier.close()
    assert len(api.seen) == 1


def test_a_private_address_is_refused_by_the_egress_guard(api: FakeApi) -> None:
    notifier = _notifier(api, EgressPolicy())
    notifier.run_ended(_run())
    threading.Event().wait(0.5)
    notifier.close()
    assert api.seen == []


def test_other_runs_send_nothing_and_read_no_counts(api: FakeApi) -> None:
    notifier = _notifier(api, EgressPolicy(allow_private=True))
    READ.clear()
    notifier.run_ended(_run(kind="webhook"))
    threading.Event().wait(0.3)
    notifier.close()
    assert api.seen == []
    assert READ == []


def test_a_sync_that_ended_has_its_requests_forgotten_and_without_a_url_no_counts_read(
    api: FakeApi,
) -> None:
    notifier = _notifier(api, EgressPolicy(allow_private=True), secret="")
    assert notifier.tally.progress("run-1").requests == 1  # type: ignore[attr-defined]
    READ.clear()
    notifier.run_ended(_run())
    notifier.close()
    assert READ == []
    assert notifier.tally.progress("run-1").requests == 0  # type: ignore[attr-defined]


def test_nothing_is_sent_without_a_secret_and_a_failing_lookup_never_raises(
    api: FakeApi,
) -> None:
    notifier = _notifier(api, EgressPolicy(allow_private=True), secret="")
    notifier.run_ended(_run())

    def gone(env_id: int) -> Environment:
        raise RuntimeError("the store went away")

    with httpx.Client() as http:
        broken = Notifier(http, EgressPolicy(), RunTally(_stored), gone)
        broken.run_ended(_run())
        threading.Event().wait(0.3)
        notifier.close()
        broken.close()
    assert api.seen == []
