"""Recovery at start: runs a previous process left queued or running are ended, typed.

``RunStore.end_unfinished_runs`` on every engine, and what follows for the deletion tracking and
the schedules of those runs; ``end_interrupted_runs`` (what ``corral serve`` calls at start).
``tests/e2e/test_recovery.py`` does it for real, with kill -9 of a serving process.
"""

from __future__ import annotations

import pathlib
import re
from datetime import timedelta

import pytest
import structlog

from corral.errors import RUN_ERROR_TYPES, InvalidRequest, RunFailure
from orchestrator.runs._recovery import RESTARTED, end_interrupted_runs
from orchestrator.runs._run_request import output_or_raise
from orchestrator.storage._areas import NewRun, RecordCounts, Run, Storage
from orchestrator.storage._sqlite import SqliteStorage
from orchestrator.storage._sqlite_runs import END_UNFINISHED_RUNS_QUERY, UNFINISHED_RUNS_QUERY
from tests.orchestrator.storage_support import START, Tenant, make_tenant, rec

ERROR = {"type": RESTARTED, "message": "gone", "payload": None}
FREQUENCY = 60.0
CLAIMED = START + timedelta(hours=1)
"""When the process that died claimed the schedule and started its run."""


def _run(storage: Storage, tenant: Tenant, kind: str = "sync", name: str = "issues") -> Run:
    return storage.create_run(tenant.env_id, NewRun(name, "github", kind, "conn-1", "base", "null"))


def _running(storage: Storage, tenant: Tenant, kind: str = "sync") -> Run:
    run = _run(storage, tenant, kind)
    storage.mark_run_started(run.run_id)
    return run


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_queued_and_running_runs_end_failed_and_finished_ones_stay(
    storage: Storage, tenant: Tenant
) -> None:
    queued = _run(storage, tenant, "action", "echo")
    running = _running(storage, tenant)
    succeeded = storage.finish_run(_running(storage, tenant).run_id, True, '"ok"', None)
    failed = storage.finish_run(
        _run(storage, tenant).run_id, False, None, {"type": "execution_timeout", "message": "t"}
    )

    ended = storage.end_unfinished_runs(ERROR)

    assert ended == [queued.run_id, running.run_id]
    for run_id in ended:
        run = storage.get_run(tenant.env_id, run_id)
        assert (run.state, run.error, run.output_json) == ("failed", ERROR, None)
        assert run.finished_at is not None
    assert storage.get_run(tenant.env_id, succeeded.run_id) == succeeded
    assert storage.get_run(tenant.env_id, failed.run_id) == failed
    assert storage.end_unfinished_runs(ERROR) == []


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_an_ended_run_keeps_its_end_when_a_late_outcome_arrives(
    storage: Storage, tenant: Tenant
) -> None:
    run = _running(storage, tenant)
    storage.end_unfinished_runs(ERROR)

    late = storage.finish_run(run.run_id, True, '"late"', None)
    storage.mark_run_started(run.run_id)

    assert (late.state, late.error) == ("failed", ERROR)
    assert storage.get_run(tenant.env_id, run.run_id) == late


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_runs_of_every_environment_are_ended(storage: Storage, tenant: Tenant) -> None:
    other = make_tenant(storage, "globex/prod")
    mine, theirs = _running(storage, tenant), _running(storage, other)

    assert storage.end_unfinished_runs(ERROR) == [mine.run_id, theirs.run_id]
    assert storage.get_run(other.env_id, theirs.run_id).state == "failed"


def test_the_deletion_tracking_of_an_ended_run_is_dropped_and_deletes_nothing(
    storage: Storage, tenant: Tenant
) -> None:
    storage.save_records(tenant.scope(), [rec("1"), rec("2")])
    interrupted = _running(storage, tenant)
    scope = tenant.scope(run_id=interrupted.run_id)
    storage.track_deletes_start(scope)
    storage.save_records(scope, [rec("1")])
    finished = _running(storage, tenant)
    kept = tenant.scope("Other", run_id=finished.run_id)
    storage.save_records(kept, [rec("9")])
    storage.track_deletes_start(kept)
    storage.finish_run(finished.run_id, True, "null", None)

    storage.end_unfinished_runs(ERROR)

    with pytest.raises(InvalidRequest) as caught:
        storage.track_deletes_end(scope)
    assert caught.value.code == "track_deletes_not_started"
    records, _ = storage.list_records(tenant.env_id, "conn-1", "Issue")
    assert sorted((r.id, r.deleted_at) for r in records) == [("1", None), ("2", None)]
    # The marks went with it: a later run's tracking deletes only what it did not see.
    following = tenant.scope(run_id="run-next")
    storage.track_deletes_start(following)
    storage.save_records(following, [rec("1"), rec("2")])
    assert storage.track_deletes_end(following) == RecordCounts()
    # Tracking that belongs to no unfinished run is not touched.
    assert storage.track_deletes_end(kept) == RecordCounts(deleted=1)


def _claimed_and_left_running(storage: Storage, tenant: Tenant) -> int:
    """A due schedule claimed at CLAIMED, whose run the process that claimed it never ended."""
    storage.ensure_schedule(
        tenant.env_id, "conn-1", "issues", "base", frequency_seconds=FREQUENCY, state="running"
    )
    (claimed,) = storage.claim_due_schedules(CLAIMED)
    storage.set_schedule_last_run(claimed.schedule_id, _running(storage, tenant).run_id)
    return claimed.schedule_id


@pytest.mark.storage_areas("tenants", "connections", "runs", "schedules")
def test_a_schedule_fires_at_its_next_slot_once_its_run_is_ended(
    storage: Storage, tenant: Tenant
) -> None:
    schedule_id = _claimed_and_left_running(storage, tenant)
    slot = CLAIMED + timedelta(seconds=FREQUENCY)
    # Before recovery, the due query skips it: its last run is unfinished, forever.
    assert storage.claim_due_schedules(slot + timedelta(days=1)) == []

    storage.end_unfinished_runs(ERROR)

    assert storage.claim_due_schedules(slot - timedelta(seconds=1)) == []
    (fired,) = storage.claim_due_schedules(slot)
    assert fired.schedule_id == schedule_id
    assert fired.next_run_at == slot
    (schedule,) = storage.list_schedules(tenant.env_id)
    assert schedule.next_run_at == slot + timedelta(seconds=FREQUENCY)


@pytest.mark.storage_areas("tenants", "connections", "runs", "schedules")
def test_a_schedule_whose_slots_passed_while_nobody_served_fires_once(
    storage: Storage, tenant: Tenant
) -> None:
    _claimed_and_left_running(storage, tenant)
    storage.end_unfinished_runs(ERROR)
    restart = CLAIMED + timedelta(seconds=10 * FREQUENCY + 5)

    assert len(storage.claim_due_schedules(restart)) == 1
    assert storage.claim_due_schedules(restart) == []
    assert storage.claim_due_schedules(restart + timedelta(seconds=FREQUENCY - 1)) == []
    (schedule,) = storage.list_schedules(tenant.env_id)
    assert schedule.next_run_at == restart + timedelta(seconds=FREQUENCY)


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_end_interrupted_runs_types_the_error_and_logs_the_count(
    storage: Storage, tenant: Tenant
) -> None:
    runs = [_running(storage, tenant), _run(storage, tenant, "action", "echo")]

    with structlog.testing.capture_logs() as logs:
        ended = end_interrupted_runs(storage)
        again = end_interrupted_runs(storage)

    assert ended == [run.run_id for run in runs]
    assert again == []
    assert RESTARTED in RUN_ERROR_TYPES
    for run_id in ended:
        with pytest.raises(RunFailure) as caught:
            output_or_raise(storage.get_run(tenant.env_id, run_id))
        assert caught.value.code == "orchestrator_restarted"
        assert "started again" in caught.value.message
        assert caught.value.details["run_id"] == run_id
    lines = [line for line in logs if line["event"] == "interrupted runs ended"]
    assert [(line["count"], line["error_type"]) for line in lines] == [
        (2, RESTARTED),
        (0, RESTARTED),
    ]


def test_the_start_up_scan_reads_the_unfinished_runs_index_not_every_run(
    tmp_path: pathlib.Path,
) -> None:
    """SQLite: the scan and the update of ``end_unfinished_runs`` search the partial index on
    queued and running runs (migration 0005), so a store with many finished runs starts fast."""
    store = SqliteStorage(tmp_path / "corral.db")
    try:
        connection = store._connection()
        for query in (UNFINISHED_RUNS_QUERY, END_UNFINISHED_RUNS_QUERY):
            plan = " ".join(
                str(row[3])
                for row in connection.execute(f"EXPLAIN QUERY PLAN {query}", _ARGS[query])
            )
            # Since migration 0011 SQLite names it a covering index for the update: a search
            # of the index either way.
            assert re.search(r"USING (COVERING )?INDEX runs_unfinished", plan), plan
            assert "SCAN runs" not in plan, plan
    finally:
        store.close()


_ARGS: dict[str, tuple[str, ...]] = {
    UNFINISHED_RUNS_QUERY: (),
    END_UNFINISHED_RUNS_QUERY: ("{}", "2026-01-01T00:00:00Z"),
}
