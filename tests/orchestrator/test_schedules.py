"""Sync schedules in storage: created due, paused and started, claimed once, never overlapping."""

from __future__ import annotations

import pathlib
import sqlite3
from contextlib import closing
from datetime import timedelta

import psycopg
import pytest

from corral.errors import NotFound
from orchestrator.storage._areas import NewRun, Storage
from tests.orchestrator.storage_support import (
    POSTGRES_DATABASES,
    START,
    Clock,
    Tenant,
    make_tenant,
    open_engine,
)


def _schedule(
    storage: Storage, tenant: Tenant, name: str = "issues", state: str = "running"
) -> None:
    storage.ensure_schedule(
        tenant.env_id, "conn-1", name, "base", frequency_seconds=60, state=state
    )


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_a_new_schedule_is_due_and_claimed_once(storage: Storage, tenant: Tenant) -> None:
    _schedule(storage, tenant)
    later = START + timedelta(hours=1)
    (claimed,) = storage.claim_due_schedules(later)
    assert (claimed.sync_name, claimed.connection_id, claimed.env_id) == (
        "issues",
        "conn-1",
        tenant.env_id,
    )
    assert storage.claim_due_schedules(later) == []
    (again,) = storage.claim_due_schedules(later + timedelta(seconds=61))
    assert again.schedule_id == claimed.schedule_id


@pytest.mark.storage_areas("tenants", "connections", "runs", "schedules")
def test_a_schedule_whose_last_run_is_unfinished_is_not_claimed(
    storage: Storage, tenant: Tenant
) -> None:
    _schedule(storage, tenant)
    later = START + timedelta(hours=1)
    (claimed,) = storage.claim_due_schedules(later)
    run = storage.create_run(
        tenant.env_id, NewRun("issues", "github", "sync", "conn-1", "base", "null")
    )
    storage.set_schedule_last_run(claimed.schedule_id, run.run_id)
    assert storage.claim_due_schedules(later + timedelta(hours=1)) == []
    storage.finish_run(run.run_id, True, "null", None)
    assert len(storage.claim_due_schedules(later + timedelta(hours=1))) == 1


@pytest.mark.storage_areas("tenants", "connections", "runs", "schedules")
def test_a_manual_run_is_the_schedules_last_run_and_holds_it_back_while_it_runs(
    storage: Storage, tenant: Tenant
) -> None:
    _schedule(storage, tenant)
    run = storage.create_run(
        tenant.env_id, NewRun("issues", "github", "sync", "conn-1", "base", "null")
    )
    assert storage.mark_manual_run(tenant.env_id, "conn-1", "issues", "base", run.run_id)
    (shown,) = storage.list_schedules(tenant.env_id)
    assert shown.last_run_id == run.run_id
    later = START + timedelta(hours=1)
    assert storage.claim_due_schedules(later) == []  # never beside the manual run
    storage.finish_run(run.run_id, True, "null", None)
    assert len(storage.claim_due_schedules(later)) == 1
    assert not storage.mark_manual_run(tenant.env_id, "conn-1", "other", "base", run.run_id)
    assert not storage.mark_manual_run(tenant.env_id + 99, "conn-1", "issues", "base", "x")


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_paused_schedules_wait_and_started_ones_are_due_at_once(
    storage: Storage, tenant: Tenant
) -> None:
    _schedule(storage, tenant, state="paused")
    far = START + timedelta(days=1)
    assert storage.claim_due_schedules(far) == []
    started = storage.set_schedule_state(tenant.env_id, "conn-1", "issues", "base", "running")
    assert started.state == "running"
    assert len(storage.claim_due_schedules(far)) == 1
    paused = storage.set_schedule_state(tenant.env_id, "conn-1", "issues", "base", "paused")
    assert paused.state == "paused"
    with pytest.raises(NotFound):
        storage.set_schedule_state(tenant.env_id, "conn-1", "other", "base", "paused")


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_ensure_keeps_the_state_and_updates_the_interval(storage: Storage, tenant: Tenant) -> None:
    _schedule(storage, tenant, state="paused")
    kept = storage.ensure_schedule(tenant.env_id, "conn-1", "issues", "base", frequency_seconds=120,
                                   state="running")  # fmt: skip
    assert (kept.state, kept.frequency_seconds) == ("paused", 120)


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_redeploy_removes_schedules_of_syncs_that_are_gone(
    storage: Storage, tenant: Tenant
) -> None:
    _schedule(storage, tenant, "issues")
    _schedule(storage, tenant, "pulls")
    storage.remove_schedules(tenant.env_id, "github", frozenset({"issues"}))
    assert [s.sync_name for s in storage.list_schedules(tenant.env_id)] == ["issues"]
    storage.delete_connection(tenant.env_id, "conn-1")
    assert storage.list_schedules(tenant.env_id) == []


# ---- a connection's own frequency (StartSync with a frequency) ----


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_an_own_frequency_is_used_for_that_connection_only(
    storage: Storage, tenant: Tenant
) -> None:
    storage.create_connection(
        tenant.env_id, "github", "conn-2", credentials={}, connection_config={}, metadata={}
    )
    _schedule(storage, tenant)
    storage.ensure_schedule(
        tenant.env_id, "conn-2", "issues", "base", frequency_seconds=60, state="running"
    )
    own = storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "base", 600)
    assert (own.frequency_seconds, own.frequency_override_seconds) == (600, 600)

    later = START + timedelta(hours=1)
    claimed = {s.connection_id: s for s in storage.claim_due_schedules(later)}
    assert claimed["conn-1"].frequency_seconds == 600
    assert claimed["conn-2"].frequency_seconds == 60
    # conn-2 is due again after the sync's 60 s, conn-1 only after its own 600 s.
    after_a_minute = storage.claim_due_schedules(later + timedelta(seconds=61))
    assert [s.connection_id for s in after_a_minute] == ["conn-2"]
    after_ten = storage.claim_due_schedules(later + timedelta(seconds=601))
    assert sorted(s.connection_id for s in after_ten) == ["conn-1", "conn-2"]


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_a_redeploy_keeps_the_own_frequency_and_clearing_returns_to_the_syncs(
    storage: Storage, tenant: Tenant
) -> None:
    _schedule(storage, tenant)
    storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "base", 900)
    redeployed = storage.ensure_schedule(
        tenant.env_id, "conn-1", "issues", "base", frequency_seconds=120, state="running"
    )
    assert (redeployed.frequency_seconds, redeployed.frequency_override_seconds) == (900, 900)
    cleared = storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "base", None)
    assert (cleared.frequency_seconds, cleared.frequency_override_seconds) == (120, None)
    (listed,) = storage.list_schedules(tenant.env_id, "conn-1")
    assert listed == cleared


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_a_shorter_own_frequency_applies_without_waiting_out_the_old_one(
    storage: Storage, tenant: Tenant
) -> None:
    storage.ensure_schedule(
        tenant.env_id, "conn-1", "issues", "base", frequency_seconds=86_400, state="running"
    )
    assert len(storage.claim_due_schedules(START + timedelta(minutes=1))) == 1
    (claimed,) = storage.list_schedules(tenant.env_id)
    assert claimed.next_run_at >= START + timedelta(days=1)  # due again in a day
    shorter = storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "base", 60)
    assert shorter.next_run_at <= START + timedelta(minutes=3)
    assert len(storage.claim_due_schedules(START + timedelta(minutes=5))) == 1
    # A longer one leaves the next run where it is.
    longer = storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "base", 7200)
    (listed,) = storage.list_schedules(tenant.env_id)
    assert listed.next_run_at == longer.next_run_at


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_an_own_frequency_needs_the_schedule_and_stays_in_its_environment(
    storage: Storage, tenant: Tenant
) -> None:
    with pytest.raises(NotFound) as missing:
        storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "base", 60)
    assert missing.value.code == "unknown_schedule"
    _schedule(storage, tenant)
    with pytest.raises(NotFound):
        storage.set_frequency_override(tenant.env_id + 99, "conn-1", "issues", "base", 60)
    with pytest.raises(NotFound):
        storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "eu", 60)
    (kept,) = storage.list_schedules(tenant.env_id)
    assert kept.frequency_override_seconds is None


def _undo_own_frequency_migration(engine: str, tmp_path: pathlib.Path) -> None:
    """Takes the store back to before the own-frequency migration (its column and its row)."""
    statements = (
        "ALTER TABLE sync_schedules DROP COLUMN frequency_override_seconds",
        "DELETE FROM schema_migrations WHERE name LIKE '%_schedule_frequency_override.sql'",
    )
    if engine == "sqlite":
        with closing(sqlite3.connect(tmp_path / "corral.db")) as conn, conn:
            for statement in statements:
                conn.execute(statement)
        return
    with psycopg.connect(POSTGRES_DATABASES[tmp_path]) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_a_store_from_before_own_frequencies_keeps_its_schedules(
    engine: str, tmp_path: pathlib.Path, clock: Clock
) -> None:
    with open_engine(engine, tmp_path, clock) as storage:
        tenant = make_tenant(storage)
        _schedule(storage, tenant)
    _undo_own_frequency_migration(engine, tmp_path)

    with open_engine(engine, tmp_path, clock) as storage:
        (kept,) = storage.list_schedules(tenant.env_id)
        assert (kept.frequency_seconds, kept.frequency_override_seconds) == (60, None)
        own = storage.set_frequency_override(tenant.env_id, "conn-1", "issues", "base", 300)
        assert own.frequency_seconds == 300


# ---- an interval out of range (redteam-boundary2 schedule_far_frequency_e2e.py) ----


@pytest.mark.parametrize("stored", [1e20, 3.2e11, float("inf")])
@pytest.mark.storage_areas("tenants", "connections", "schedules")
def test_an_interval_out_of_range_in_the_store_does_not_stop_another_tenants_schedule(
    storage: Storage, tenant: Tenant, stored: float
) -> None:
    """A row holding an interval no parse checked ('every 10000 years' before the bound) made
    the claim raise OverflowError for the whole batch, every tick: no environment's schedule
    ran. Now it counts as the longest interval, and the other environment's is claimed."""
    storage.ensure_schedule(
        tenant.env_id, "conn-1", "far", "base", frequency_seconds=stored, state="running"
    )
    victim = make_tenant(storage, "victim/prod")
    _schedule(storage, victim)
    later = START + timedelta(hours=1)
    claimed = {s.env_id: s for s in storage.claim_due_schedules(later)}
    assert set(claimed) == {tenant.env_id, victim.env_id}
    (far,) = [s for s in storage.list_schedules(tenant.env_id) if s.sync_name == "far"]
    assert far.next_run_at == later + timedelta(days=366)
    own = storage.set_frequency_override(tenant.env_id, "conn-1", "far", "base", stored)
    assert own.next_run_at <= later + timedelta(days=366)
