"""The intake (every engine): checks at once, stores before the answer, delivers after, refuses
when an environment has too many waiting, and a webhook outlives the process that accepted it
(a real kill -9)."""

from __future__ import annotations

import hashlib
import hmac
import os
import pathlib
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from corral.errors import InvalidRequest, NotFound, Unauthenticated, Unavailable
from orchestrator.storage._areas import Storage
from orchestrator.storage._sqlite import SqliteStorage
from orchestrator.storage._types import Environment
from orchestrator.webhooks import Intake, _intake
from tests.orchestrator.storage_support import Tenant, make_tenant
from tests.support.processes import wait_for

SECRET = "s3cret"


def _github(storage: Storage, tenant: Tenant) -> None:
    """Integration ``gh`` (GitHub: routed by installation id) with connections a (1), b (2)."""
    storage.upsert_integration(
        tenant.env_id,
        "gh",
        provider="github",
        base_url="https://api.github.com",
        auth_mode="NONE",
        auth_config={"webhook_secret": SECRET},
    )
    for cid, installation in (("a", "1"), ("b", "2")):
        storage.create_connection(
            tenant.env_id,
            "gh",
            cid,
            credentials={"type": "NONE"},
            connection_config={"installation_id": installation},
            metadata={},
        )


@pytest.fixture
def github(storage: Storage, tenant: Tenant) -> Tenant:
    _github(storage, tenant)
    return tenant


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


def _intake_of(storage: Storage, deliveries: _Deliveries, **options: float) -> Intake:
    return Intake(storage, deliveries, poll_seconds=0.05, **options)


def _waiting(storage: Storage) -> int:
    with storage._read() as conn:  # type: ignore[attr-defined]
        row = storage._fetch_one(conn, "SELECT count(*) AS n FROM webhook_inbox")  # type: ignore[attr-defined]
    return int(row["n"])


def test_a_verified_webhook_is_stored_then_delivered_to_its_connection(
    storage: Storage, github: Tenant
) -> None:
    deliveries = _Deliveries()
    deliveries.gate.clear()
    intake = _intake_of(storage, deliveries)
    body = b'{"installation": {"id": 2}}'
    intake.accept("acme/prod", "gh", _signed(body), body)
    assert _waiting(storage) == 1  # stored before the answer
    deliveries.gate.set()
    assert deliveries.done.acquire(timeout=10)
    assert deliveries.calls == [("gh", "b", "push", {"installation": {"id": 2}})]
    assert wait_for(lambda: _waiting(storage) == 0, 5)
    intake.close()


def test_unknown_names_get_one_answer_and_checks_come_in_order(
    storage: Storage, github: Tenant
) -> None:
    intake = _intake_of(storage, _Deliveries())
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
    assert _waiting(storage) == 0


def test_an_environment_with_too_many_waiting_is_refused_until_they_drain(
    storage: Storage, github: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_intake, "MAX_WAITING", 2)
    deliveries = _Deliveries()
    deliveries.gate.clear()  # the first delivery waits: the others wait behind it
    intake = _intake_of(storage, deliveries)
    other = make_tenant(storage, "other/prod")
    _github(storage, other)
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
    assert accepted == 2
    intake.accept("other/prod", "gh", _signed(body), body)  # another environment's room
    deliveries.gate.set()
    for _ in range(accepted + 1):
        assert deliveries.done.acquire(timeout=10)
    assert wait_for(lambda: _waiting(storage) == 0, 5)
    intake.accept("acme/prod", "gh", _signed(body), body)
    assert deliveries.done.acquire(timeout=10)
    intake.close()
    assert len(deliveries.calls) == accepted + 2


def test_a_delivery_that_fails_for_a_while_is_tried_again_and_one_refused_for_good_is_not(
    storage: Storage, github: Tenant
) -> None:
    failures = [Unavailable("away", code="storage_unavailable")] * 2
    deliveries = _Deliveries()

    def flaky(env: Environment, integration: str, cid: str, kind: str, payload: Any) -> Any:
        if payload.get("gone"):
            raise NotFound("no", code="unknown_connection")
        if failures:
            raise failures.pop()
        return deliveries(env, integration, cid, kind, payload)

    intake = Intake(storage, flaky, poll_seconds=0.05, backoff_seconds=0.05)
    gone = b'{"installation": {"id": 1}, "gone": true}'
    intake.accept("acme/prod", "gh", _signed(gone), gone)
    body = b'{"installation": {"id": 1}}'
    intake.accept("acme/prod", "gh", _signed(body), body)
    assert deliveries.done.acquire(timeout=10)
    assert wait_for(lambda: _waiting(storage) == 0, 5)
    intake.close()
    assert [call[1] for call in deliveries.calls] == ["a"]


ACCEPT_AND_HANG = """
import sys, threading
from orchestrator.storage._sqlite import SqliteStorage
from orchestrator.webhooks import Intake
from tests.orchestrator.webhooks.test_intake import _signed

def hang(*_args):
    print("delivering", flush=True)
    threading.Event().wait()

intake = Intake(SqliteStorage(sys.argv[1]), hang, hold_seconds=1.0)
body = b'{"installation": {"id": 2}}'
intake.accept("acme/prod", "gh", _signed(body), body)
print("accepted", flush=True)
threading.Event().wait()
"""


def test_a_webhook_outlives_a_kill_9_of_the_process_that_accepted_it(
    tmp_path: pathlib.Path,
) -> None:
    """The process answers the provider, starts delivering, and is killed with SIGKILL; the
    next start (another process on the same store) delivers the webhook once the dead
    process's claim has run out."""
    path = tmp_path / "corral.db"
    store = SqliteStorage(path)
    tenant = make_tenant(store)
    _github(store, tenant)
    with subprocess.Popen(
        [sys.executable, "-c", ACCEPT_AND_HANG, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=pathlib.Path(__file__).parents[3],
    ) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(2)]  # both, in either order
        assert sorted(lines) == ["accepted", "delivering"]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert _waiting(store) == 1
    deliveries = _Deliveries()
    intake = _intake_of(store, deliveries)
    assert deliveries.done.acquire(timeout=10)
    assert deliveries.calls == [("gh", "b", "push", {"installation": {"id": 2}})]
    assert wait_for(lambda: _waiting(store) == 0, 5)
    intake.close()
    store.close()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"a": NaN}',
        b'{"a": 1e999}',
        b'{"a": "\\ud800"}',
        b"\xff\xfe{}",
        b"[" * 200 + b"]" * 200,
        b"[" * 200_000 + b"]" * 200_000,
    ],
    ids=["empty", "nan", "infinity", "lone-surrogate", "not-utf8", "too-deep", "recursion"],
)
def test_a_body_is_read_as_every_boundary_reads_json_and_nothing_is_stored(
    storage: Storage, github: Tenant, body: bytes
) -> None:
    """What would not round-trip through the store and the handlers' parsers is refused
    (400) before it is stored, as ``DeliverWebhook`` refuses it; a body nested past Python's
    recursion limit too, rather than failing the request without an answer."""
    intake = _intake_of(storage, _Deliveries())
    with pytest.raises(InvalidRequest) as caught:
        intake.accept("acme/prod", "gh", _signed(body), body)
    intake.close()
    assert caught.value.code == "invalid_json"
    assert _waiting(storage) == 0


def test_an_environment_whose_deliveries_are_slow_holds_one_deliverer_not_the_others(
    storage: Storage, github: Tenant
) -> None:
    other = make_tenant(storage, "other/prod")
    _github(storage, other)
    release, delivered = threading.Event(), threading.Event()
    started: list[str] = []

    def deliver(env: Environment, integration: str, cid: str, kind: str, payload: Any) -> Any:
        started.append(env.name)
        if env.name == "acme/prod":
            release.wait(20)  # thousands of runs to start, say
        else:
            delivered.set()
        return []

    intake = Intake(storage, deliver, poll_seconds=0.05)
    body = b'{"installation": {"id": 1}}'
    try:
        for _ in range(3):
            intake.accept("acme/prod", "gh", _signed(body), body)
        intake.accept("other/prod", "gh", _signed(body), body)
        assert delivered.wait(5), "the other environment's webhook waited behind the slow one"
        assert started.count("acme/prod") == 1  # one of its own at a time
    finally:
        release.set()
    assert wait_for(lambda: _waiting(storage) == 0, 10)
    intake.close()
    assert started.count("acme/prod") == 3


@pytest.mark.parametrize(
    "kind", ["pu\x00sh", "push\n", "\u202epush", "p" * 256], ids=["nul", "newline", "bidi", "long"]
)
def test_an_event_type_that_is_not_printable_text_is_refused_and_nothing_is_stored(
    storage: Storage, github: Tenant, kind: str
) -> None:
    """The event type comes from a header the signature does not cover, and is stored with the
    webhook: on PostgreSQL a NUL in it failed the request with no answer."""
    intake = _intake_of(storage, _Deliveries())
    body = b'{"installation": {"id": 2}}'
    with pytest.raises(InvalidRequest) as caught:
        intake.accept("acme/prod", "gh", _signed(body, kind=kind), body)
    intake.close()
    assert caught.value.code == "invalid_name"
    assert _waiting(storage) == 0


@pytest.mark.parametrize(
    ("environment", "integration"),
    [("acme\x00prod", "gh"), ("acme/prod", "g\x00h"), ("acme/prod\n", "gh"), (" acme", "gh")],
)
def test_names_no_stored_one_can_hold_are_unknown_endpoints(
    storage: Storage, github: Tenant, environment: str, integration: str
) -> None:
    """A path's names are looked up only when a stored name could hold them (on PostgreSQL a
    NUL failed the lookup itself); either way the answer is the one for an unknown name."""
    intake = _intake_of(storage, _Deliveries())
    body = b'{"installation": {"id": 2}}'
    with pytest.raises(NotFound) as caught:
        intake.accept(environment, integration, _signed(body), body)
    intake.close()
    assert caught.value.code == "unknown_webhook"
