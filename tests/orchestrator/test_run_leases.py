"""Run leases on every engine: a run is stored with its orchestrator instance (``owner``) and a
lease; the owner renews the leases of its unfinished runs; ``end_expired_runs`` ends the runs
whose lease expired as ``orchestrator_lost`` and drops their deletion tracking. The run
manager's renewal thread and ``end_lost_runs``; ``tests/e2e/test_two_orchestrators.py`` kills
one of two real serves."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest

from corral.errors import RUN_ERROR_TYPES
from orchestrator.runs._manager import RunManager
from orchestrator.runs._recovery import LOST, end_lost_runs
from orchestrator.runs._tokens import RunTokens
from orchestrator.storage._areas import NewRun, Run, Storage
from tests.orchestrator.storage_support import Clock, Tenant

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
