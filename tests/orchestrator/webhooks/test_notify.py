"""Sync result notifications, kept in the store (every engine): queued by whatever ends a sync
run while its environment has a URL, signed, sent again after 5xx with backoff, refused by the
egress guard, claimed by one sender at a time, left to the next sender by one that stopped."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orchestrator.proxy._egress import EgressPolicy, pinned_transport
from orchestrator.storage._areas import NewRun, Storage
from orchestrator.storage._types import Run
from orchestrator.webhooks import ATTEMPTS, SIGNATURE_HEADER, TIMESTAMP_HEADER, Notifier
from tests.orchestrator.storage_support import Tenant, make_tenant, rec
from tests.support.fake_api import FakeApi, Seen, running_fake_api
from tests.support.processes import wait_for

SECRET = "whsec_test"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with running_fake_api() as fake:
        yield fake


def _configure(storage: Storage, tenant: Tenant, api: FakeApi, secret: str = SECRET) -> None:
    settings = {"notifications": {"url": api.url + "/hook", "secret": secret}}
    storage.set_environment_settings(tenant.env_id, settings)


def _ended_sync(
    storage: Storage, tenant: Tenant, ok: bool = True, kind: str = "sync", error: Any = None
) -> Run:
    """A sync run that saved records and ended."""
    run = storage.create_run(
        tenant.env_id, NewRun("items", "github", kind, "conn-1", "", "{}", started=True)
    )
    scope = tenant.scope("Item", run_id=run.run_id)
    storage.save_records(scope, [rec("1"), rec("2"), rec("3")])
    storage.save_records(scope, [rec("1", t="changed")])
    storage.delete_records(scope, ["2", "3"])
    return storage.finish_run(run.run_id, ok, "null" if ok else None, error)


def _notifier(storage: Storage, egress: EgressPolicy | None = None) -> Notifier:
    egress = egress or EgressPolicy(allow_private=True)
    http = httpx.Client(transport=pinned_transport(egress))
    return Notifier(http, egress, storage, backoff_seconds=0.05, poll_seconds=0.1)


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


def _due(storage: Storage) -> list[str]:
    """The runs whose notifications wait in the store (read as they are, claiming nothing)."""
    sql = "SELECT r.run_id FROM sync_notifications AS n JOIN runs AS r ON r.id = n.run_pk"
    with storage._read() as conn:  # type: ignore[attr-defined]
        rows = storage._fetch_all(conn, sql)  # type: ignore[attr-defined]
    return sorted(str(row["run_id"]) for row in rows)


def test_a_sync_outcome_is_signed_and_sent_again_after_500s(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    done = _answers(api, [500, 503])
    _configure(storage, tenant, api)
    run = _ended_sync(storage, tenant)
    notifier = _notifier(storage)
    notifier.run_ended(run)
    assert done.wait(10)
    assert wait_for(lambda: _due(storage) == [], 5)
    notifier.close()
    assert len(api.seen) == 3
    bodies = [_verified(seen) for seen in api.seen]
    assert bodies[0] == bodies[-1]
    assert bodies[0]["models"] == {"Item": {"added": 3, "updated": 1, "deleted": 2}}
    assert (bodies[0]["run_id"], bodies[0]["sync"], bodies[0]["success"]) == (
        run.run_id,
        "items",
        True,
    )
    assert (bodies[0]["connection_id"], bodies[0]["environment"]) == ("conn-1", "acme/prod")


def test_retries_stop_after_the_last_attempt_and_on_a_4xx(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    _answers(api, [500] * (ATTEMPTS + 3))
    _configure(storage, tenant, api)
    error = {"type": "script_http_error", "message": "x"}
    failed = _ended_sync(storage, tenant, ok=False, error=error)
    notifier = _notifier(storage)
    notifier.run_ended(failed)
    assert wait_for(lambda: len(api.seen) >= ATTEMPTS and _due(storage) == [], 10)
    threading.Event().wait(0.3)
    assert len(api.seen) == ATTEMPTS
    body = _verified(api.seen[0])
    assert body["success"] is False
    assert body["error"] == {"type": "script_http_error", "message": "x"}
    api.seen.clear()
    _answers(api, [400, 500])
    notifier.run_ended(_ended_sync(storage, tenant))
    assert wait_for(lambda: len(api.seen) == 1 and _due(storage) == [], 5)
    threading.Event().wait(0.3)
    notifier.close()
    assert len(api.seen) == 1


def test_a_private_address_is_refused_by_the_egress_guard(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    _configure(storage, tenant, api)
    run = _ended_sync(storage, tenant)
    notifier = _notifier(storage, EgressPolicy())
    notifier.run_ended(run)
    assert wait_for(lambda: _due(storage) == [], 5)
    notifier.close()
    assert api.seen == []


def test_only_sync_runs_of_an_environment_with_a_url_are_queued(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    _ended_sync(storage, tenant)  # no URL yet
    _configure(storage, tenant, api)
    _ended_sync(storage, tenant, kind="action")
    running = storage.create_run(
        tenant.env_id, NewRun("items", "github", "sync", "conn-1", "", "{}", started=True)
    )
    assert _due(storage) == []
    ended = _ended_sync(storage, tenant)
    assert _due(storage) == [ended.run_id]
    assert running.state == "running"


def test_every_way_a_sync_ends_queues_its_notification(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    """A restart that ends what a previous process left, as the runner's answer does."""
    _configure(storage, tenant, api)
    left = storage.create_run(
        tenant.env_id, NewRun("items", "github", "sync", "conn-1", "", "{}", started=True)
    )
    queued = storage.create_run(
        tenant.env_id, NewRun("items", "github", "sync", "conn-1", "", "{}")
    )
    storage.end_unfinished_runs({"type": "orchestrator_lost", "message": "restarted"})
    assert _due(storage) == sorted([left.run_id, queued.run_id])


def test_nothing_is_sent_without_a_secret_and_the_notification_is_forgotten(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    _configure(storage, tenant, api, secret="")
    run = _ended_sync(storage, tenant)
    assert _due(storage) == [run.run_id]
    notifier = _notifier(storage)
    notifier.run_ended(run)
    assert wait_for(lambda: _due(storage) == [], 5)
    notifier.close()
    assert api.seen == []


def test_a_claim_is_one_senders_until_it_runs_out(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    _configure(storage, tenant, api)
    runs = sorted(_ended_sync(storage, tenant).run_id for _ in range(3))
    first = storage.claim_notifications(1000.0, 30.0, 2)
    second = storage.claim_notifications(1001.0, 30.0, 10)
    assert len(first) == 2
    assert sorted(n.run_id for n in first + second) == runs  # none twice
    assert storage.claim_notifications(1002.0, 30.0, 10) == []
    taken_over = storage.claim_notifications(1031.0, 30.0, 10)  # the claims ran out
    assert sorted(n.run_id for n in taken_over) == runs
    storage.notification_tried(runs[0], 2000.0)
    storage.notification_tried(runs[1], None)
    assert sorted(n.run_id for n in storage.claim_notifications(1062.0, 30.0, 10)) == [runs[2]]
    again = storage.claim_notifications(2000.0, 30.0, 10)  # the one put off, due again
    assert [(n.run_id, n.tries) for n in again] == [(runs[2], 0), (runs[0], 1)]


def test_a_sender_that_stopped_leaves_its_notifications_to_the_next(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    done = _answers(api, [])
    _configure(storage, tenant, api)
    run = _ended_sync(storage, tenant)
    # Another sender claimed it and died: nothing is sent until its claim runs out.
    import time  # noqa: PLC0415

    storage.claim_notifications(time.time(), 3.0, 10)
    notifier = _notifier(storage)
    assert not done.wait(1.0)
    assert done.wait(15)
    notifier.close()
    assert [_verified(seen)["run_id"] for seen in api.seen] == [run.run_id]


def test_a_failure_on_our_side_counts_as_a_try_and_ends_after_the_last(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    """An environment that cannot be read (a secret the key no longer opens, say) is not tried
    every time a claim runs out, forever: each failure is a try."""
    _configure(storage, tenant, api)
    run = _ended_sync(storage, tenant)

    class Unreadable:
        def __getattr__(self, name: str) -> Any:
            return getattr(storage, name)

        def get_environment_by_id(self, env_id: int) -> Any:
            raise RuntimeError("secret_unreadable")

    egress = EgressPolicy(allow_private=True)
    http = httpx.Client(transport=pinned_transport(egress))
    notifier = Notifier(http, egress, Unreadable(), backoff_seconds=0.01, poll_seconds=0.05)  # type: ignore[arg-type]
    notifier.run_ended(run)
    assert wait_for(lambda: _due(storage) == [], 10)
    notifier.close()
    assert api.seen == []


def test_an_environment_whose_receiver_hangs_holds_one_sender_not_the_others(
    storage: Storage, tenant: Tenant, api: FakeApi
) -> None:
    """Tenant A's receiver answers nothing while tenant B's notification is due: B's is sent
    at once, and A's others wait behind A's own, not B's."""
    release = threading.Event()
    arrived: list[bytes] = []

    def hang(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        arrived.append(seen.body)
        release.wait(20)
        return 200, {}, {}

    api.routes[("POST", "/hang")] = hang
    other = make_tenant(storage, "other/prod")
    hanging = {"notifications": {"url": api.url + "/hang", "secret": SECRET}}
    storage.set_environment_settings(tenant.env_id, hanging)
    _configure(storage, other, api)
    stuck = [_ended_sync(storage, tenant).run_id for _ in range(3)]
    sent = _answers(api, [])
    quiet = _ended_sync(storage, other)
    notifier = _notifier(storage)
    try:
        assert sent.wait(5), "the other environment's notification waited behind the hang"
        assert wait_for(lambda: len(arrived) == 1, 5)
        threading.Event().wait(0.3)
        assert len(arrived) == 1  # one of A's at a time
        hook = next(seen for seen in api.seen if seen.path == "/hook")
        assert _verified(hook)["run_id"] == quiet.run_id
    finally:
        release.set()
    assert wait_for(lambda: _due(storage) == [], 15)
    notifier.close()
    assert sorted(_verified(s)["run_id"] for s in api.seen if s.path == "/hang") == sorted(stuck)
