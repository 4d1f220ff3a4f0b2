"""SDK callbacks wait out a passing outage of the store (``orchestrator.callbacks._store_retry``).

A callback that meets ``storage_unavailable`` with a passing reason is tried again, with
jittered pauses, until its call's deadline (less a margin to answer); any other error is
answered at once; a call that may have been committed is tried again only when doing it twice
is doing it once. The PostgreSQL engine gives its outages those reasons, and its pool finds the
server again by itself within a second or two of its return.
"""

from __future__ import annotations

import pathlib
import tempfile
import time
from typing import Any

import pytest

from corral.errors import InvalidRequest, Unavailable
from orchestrator.callbacks._run_auth import CALLBACKS_PREFIX
from orchestrator.callbacks._store_retry import REPLY_MARGIN_S, StoreRetry, retrying
from orchestrator.storage._pg import PostgresStorage
from orchestrator.storage._waits import (
    COMMIT_UNKNOWN,
    PASSING_REASONS,
    SERVER_UNREACHABLE,
    passing,
    wait_seconds,
    waiting_until,
)
from tests.support.postgres import PostgresServer


class Context:
    """A call's context: its time left, and whether its caller still waits."""

    def __init__(self, seconds: float | None, *, active: bool = True) -> None:
        self._deadline = None if seconds is None else time.monotonic() + seconds
        self.active = active

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(self._deadline - time.monotonic(), 0.0)

    def is_active(self) -> bool:
        return self.active


def _away(reason: str = SERVER_UNREACHABLE) -> Unavailable:
    return Unavailable(
        "the database is away", code="storage_unavailable", details={"reason": reason}
    )


class Flaky:
    """Fails with ``error`` the first ``failures`` times, then answers ``"ok"``."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or _away()
        self.calls = 0
        self.waits: list[float] = []

    def __call__(self, request: Any = None, context: Any = None) -> str:
        self.calls += 1
        self.waits.append(wait_seconds(10.0))
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def test_a_passing_outage_is_waited_out() -> None:
    flaky = Flaky(3)
    pauses: list[float] = []

    assert retrying(flaky, Context(10.0), rpc="GetMetadata", sleep=pauses.append) == "ok"

    assert flaky.calls == 4
    assert len(pauses) == 3
    assert pauses[0] <= pauses[2] * 2  # they grow (with jitter)
    assert all(wait <= 1.0 for wait in flaky.waits)  # each try waits a second at most


def test_the_call_fails_typed_before_its_deadline() -> None:
    flaky = Flaky(10_000)
    start = time.monotonic()

    with pytest.raises(Unavailable) as caught:
        retrying(flaky, Context(0.8), rpc="BatchSave")

    took = time.monotonic() - start
    assert caught.value.code == "storage_unavailable"
    assert flaky.calls > 2
    assert took < 0.8  # answered before the caller's deadline
    assert took >= 0.8 - REPLY_MARGIN_S - 0.1


@pytest.mark.parametrize(
    "error",
    [
        Unavailable("disk full", code="storage_unavailable", details={"reason": "disk_full"}),
        Unavailable("busy", code="storage_busy"),
        InvalidRequest("bad record", code="invalid_sync_record"),
    ],
)
def test_other_errors_are_answered_at_once(error: Exception) -> None:
    flaky = Flaky(1, error)

    with pytest.raises(type(error)):
        retrying(flaky, Context(10.0), rpc="BatchSave", sleep=lambda _s: None)

    assert flaky.calls == 1


def test_a_caller_gone_stops_the_waiting() -> None:
    flaky = Flaky(10)

    with pytest.raises(Unavailable):
        retrying(flaky, Context(10.0, active=False), rpc="Log", sleep=lambda _s: None)

    assert flaky.calls == 1


def test_an_unknown_commit_is_tried_again_only_where_twice_is_once() -> None:
    wrapper = StoreRetry()
    upsert, checkpoint = Flaky(1, _away(COMMIT_UNKNOWN)), Flaky(1, _away(COMMIT_UNKNOWN))

    saved = wrapper.wrap(CALLBACKS_PREFIX + "BatchSave", upsert)(None, Context(10.0))
    with pytest.raises(Unavailable) as caught:
        wrapper.wrap(CALLBACKS_PREFIX + "SaveCheckpoint", checkpoint)(None, Context(10.0))

    assert saved == "ok"
    assert upsert.calls == 2
    assert checkpoint.calls == 1
    assert caught.value.details["reason"] == COMMIT_UNKNOWN


def test_nested_actions_proxied_requests_and_other_services_are_not_wrapped() -> None:
    wrapper = StoreRetry()
    behaviour = Flaky(0)

    for method in (
        CALLBACKS_PREFIX + "TriggerAction",
        CALLBACKS_PREFIX + "Proxy",
        "/corral.v1.Orchestrator/GetRun",
    ):
        assert wrapper.wrap(method, behaviour) is behaviour


def test_a_deadline_bounds_the_stores_wait() -> None:
    assert wait_seconds(10.0) == 10.0
    with waiting_until(time.monotonic() + 0.5):
        assert wait_seconds(10.0) <= 0.5
    with waiting_until(time.monotonic() - 1):
        assert 0 < wait_seconds(10.0) < 0.01
    assert wait_seconds(10.0) == 10.0


def test_a_stopped_server_is_a_passing_outage_and_the_pool_finds_it_again() -> None:
    root = pathlib.Path(tempfile.mkdtemp(prefix="corral-pg-retry-"))
    with PostgresServer.started(root, durable=True) as server:
        storage = PostgresStorage(server.url(), wait_timeout_s=0.5)
        try:
            environment, _ = storage.create_environment("acme/prod")
            server.stop(remove=False, mode="fast")

            with pytest.raises(Unavailable) as caught:
                storage.list_environments()
            assert passing(caught.value)
            assert caught.value.details["reason"] in PASSING_REASONS
            for _ in range(3):  # as long as it is down
                with pytest.raises(Unavailable) as again:
                    storage.list_environments()
                assert passing(again.value)

            server.start()
            back = time.monotonic()
            listed = retrying(storage.list_environments, Context(20.0), rpc="test")
            assert listed == [environment]
            assert time.monotonic() - back < 5  # the pool's tries are short
        finally:
            storage.close()
