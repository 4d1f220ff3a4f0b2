"""Run leases on every engine: a run is stored with its orchestrator instance (``owner``) and a
lease; the owner renews the leases of its unfinished runs; ``end_expired_runs`` ends the runs
whose lease expired as ``orchestrator_lost`` and drops their deletion tracking. The run
manager's renewal thread and ``end_lost_runs``; ``tests/e2e/test_two_orchestrators.py`` kills
one of two real serves."""

from __future__ import annotations

import threading
import time
from concurrent import futures
from dataclasses import replace
from datetime import timedelta

import pytest

from corral.errors import RUN_ERROR_TYPES
from orchestrator.runs._manager import RunManager
from orchestrator.runs._recovery import LOST, end_lost_runs
from orchestrator.runs._tokens import RunTokens
from orchestrator.storage._areas import NewRun, Run, Storage
from orchestrator.storage._pg import PostgresStorage
from tests.orchestrator.storage_support import Clock, Tenant, make_tenant
from tests.support.postgres import PostgresServer

ERROR = {"type": LOST, "message": "lost", "payload": None}
LEASE = 100.0


def _run(storage: Storage, tenant: Tenant, owner: str | None, kind: str = "sync") -> Run:
    new = NewRun("issues", "github", kind, "conn-1", "base", "null")
    return storage.create_run(tenant.env_id, replace(new, owner=owner, lease_seconds=LEASE))


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_runs_within_their_lease_stay_and_expired_ones_end(
    storage: Storage, tenant: Tenant, clock: Clock
) -> None:
    alive = _run(storage, tenant, "a")
    dead = _run(storage, tenant, "b", "action")
    storage.mark_run_started(dead.run_id)
    assert storage.end_expired_runs(ERROR) == []

    clock.now += timedelta(seconds=LEASE / 2)
    assert storage.renew_leases("a", LEASE) == 1
    clock.now += timedelta(seconds=LEASE * 3 / 4)  # b's lease is over, a's renewed one is not

    assert storage.end_expired_runs(ERROR) == [dead.run_id]
    ended = storage.get_run(tenant.env_id, dead.run_id)
    assert (ended.state, ended.error) == ("failed", ERROR)
    assert storage.get_run(tenant.env_id, alive.run_id).state == "queued"
    assert storage.end_expired_runs(ERROR) == []  # each run is ended once


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_a_run_nobody_holds_counts_as_expired(storage: Storage, tenant: Tenant) -> None:
    orphan = _run(storage, tenant, None)
    assert storage.end_expired_runs(ERROR) == [orphan.run_id]


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_finished_runs_are_not_renewed_nor_ended(
    storage: Storage, tenant: Tenant, clock: Clock
) -> None:
    done = storage.finish_run(_run(storage, tenant, "a").run_id, True, '"ok"', None)
    assert storage.renew_leases("a", LEASE) == 0
    clock.now += timedelta(seconds=LEASE * 2)
    assert storage.end_expired_runs(ERROR) == []
    assert storage.get_run(tenant.env_id, done.run_id) == done


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_end_lost_runs_uses_the_typed_error(storage: Storage, tenant: Tenant, clock: Clock) -> None:
    run = _run(storage, tenant, "a")
    clock.now += timedelta(seconds=LEASE * 2)
    assert end_lost_runs(storage) == [run.run_id]
    error = storage.get_run(tenant.env_id, run.run_id).error
    assert error is not None
    assert error["type"] == LOST
    assert LOST in RUN_ERROR_TYPES


class _Recorder:
    def __init__(self) -> None:
        self.renewals: list[tuple[str, float]] = []

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        self.renewals.append((owner, lease_seconds))
        return 0


def test_the_manager_renews_its_leases_until_shutdown() -> None:
    recorder = _Recorder()
    manager = RunManager(
        recorder,  # type: ignore[arg-type]
        RunTokens(),
        runners=None,  # type: ignore[arg-type]
        owner="me",
        lease_seconds=0.3,
    )
    manager.start_lease_renewal()
    deadline = time.monotonic() + 10
    while len(recorder.renewals) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    manager.shutdown(0)
    assert recorder.renewals[:3] == [("me", 0.3)] * 3
    count = len(recorder.renewals)
    time.sleep(0.25)
    assert len(recorder.renewals) == count  # stopped with the manager


def _detached(storage: Storage, tenant: Tenant, owner: str, mark: str = "run") -> Run:
    new = NewRun("issues", "github", "sync", "conn-1", "base", '{"page": 1}')
    return storage.create_run(
        tenant.env_id, replace(new, owner=owner, lease_seconds=LEASE, requeue=mark)
    )


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_queued_detached_runs_of_a_lost_owner_are_taken_over_not_ended(
    storage: Storage, tenant: Tenant, clock: Clock
) -> None:
    queued = _detached(storage, tenant, "a")
    webhook = _detached(storage, tenant, "a", "webhook")
    started = _detached(storage, tenant, "a")
    storage.mark_run_started(started.run_id)
    waited_on = _run(storage, tenant, "a", "action")  # a caller waits on a: no mark
    assert storage.take_over_runs("b", LEASE, 10) == []  # a's lease holds

    clock.now += timedelta(seconds=LEASE * 2)
    # The sweep ends what started or has a caller on a; the queued detached ones wait for b.
    assert storage.end_expired_runs(ERROR) == [started.run_id, waited_on.run_id]
    taken = storage.take_over_runs("b", LEASE, 10)
    assert [(run.run_id, mark) for run, mark in taken] == [
        (queued.run_id, "run"),
        (webhook.run_id, "webhook"),
    ]
    assert all(run.state == "queued" and run.input_json == '{"page": 1}' for run, _ in taken)
    assert storage.take_over_runs("c", LEASE, 10) == []  # each goes once
    assert storage.renew_leases("b", LEASE) == 2  # b holds them now
    clock.now += timedelta(seconds=LEASE / 2)
    assert storage.end_expired_runs(ERROR) == []


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_take_over_honours_its_limit_oldest_first(
    storage: Storage, tenant: Tenant, clock: Clock
) -> None:
    runs = [_detached(storage, tenant, "a") for _ in range(3)]
    clock.now += timedelta(seconds=LEASE * 2)
    first = storage.take_over_runs("b", LEASE, 2)
    assert [run.run_id for run, _ in first] == [run.run_id for run in runs[:2]]
    assert [run.run_id for run, _ in storage.take_over_runs("b", LEASE, 2)] == [runs[2].run_id]


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_a_released_run_is_taken_over_at_once_and_no_longer_renewed(
    storage: Storage, tenant: Tenant, clock: Clock
) -> None:
    handed = _detached(storage, tenant, "a")
    held = _run(storage, tenant, "a", "action")
    storage.release_run(handed.run_id)
    storage.release_run(held.run_id)  # not re-queueable: it stays a's
    assert storage.renew_leases("a", LEASE) == 1
    clock.now += timedelta(seconds=1)
    assert [run.run_id for run, _ in storage.take_over_runs("b", LEASE, 10)] == [handed.run_id]
    assert storage.end_expired_runs(ERROR) == []


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_a_lost_run_whose_function_is_gone_ends_as_lost(
    storage: Storage, tenant: Tenant, clock: Clock
) -> None:
    run = _detached(storage, tenant, "a")  # "issues" was never deployed here
    clock.now += timedelta(seconds=LEASE * 2)
    manager = RunManager(
        storage,
        RunTokens(),
        runners=None,  # type: ignore[arg-type]
        owner="b",
        lease_seconds=LEASE,
    )
    assert manager.take_over_lost_runs() == [run.run_id]
    ended = storage.get_run(tenant.env_id, run.run_id)
    assert ended.state == "failed"
    assert ended.error is not None
    assert ended.error["type"] == LOST
    assert "could not be taken over" in ended.error["message"]


def test_orchestrators_taking_over_at_once_get_each_run_once(
    postgres_server: PostgresServer, postgres_template: str
) -> None:
    url = postgres_server.create_database(
        postgres_server.unique_name("takeover"), template=postgres_template
    )
    clock = Clock()
    stores = [PostgresStorage(url, clock=clock) for _ in range(3)]
    try:
        tenant = make_tenant(stores[0])
        lost = {_detached(stores[0], tenant, "dead").run_id for _ in range(60)}
        clock.now += timedelta(seconds=LEASE * 2)
        ready = threading.Barrier(len(stores))

        def take(index: int) -> list[str]:
            ready.wait(10)
            got: list[str] = []
            while batch := stores[index].take_over_runs(f"o{index}", LEASE, 7):
                got += [run.run_id for run, _ in batch]
            return got

        with futures.ThreadPoolExecutor(len(stores)) as pool:
            taken = list(pool.map(take, range(len(stores))))
        everything = [run_id for got in taken for run_id in got]
        assert sorted(everything) == sorted(lost)  # each once, none left behind
    finally:
        for store in stores:
            store.close()
