"""Retention: runs that ended long ago are purged with their logs; running runs and a
schedule's last run are kept; the scheduler purges at most once an hour."""

from __future__ import annotations

import pathlib
from datetime import timedelta

import pytest

from corral.errors import NotFound
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.storage._areas import LogLine, NewRun, Storage
from tests.orchestrator.storage_support import Clock, make_tenant, open_engine


def _run(storage: Storage, env_id: int, name: str) -> str:
    new = NewRun(name, "github", "sync", "conn-1", "base", "null")
    return storage.create_run(env_id, new).run_id


@pytest.mark.storage_areas("tenants", "connections", "runs", "schedules")
def test_old_finished_runs_go_with_their_logs(engine: str, tmp_path: pathlib.Path) -> None:
    clock = Clock()
    with open_engine(engine, tmp_path, clock) as storage:
        env_id = make_tenant(storage).env_id
        old = _run(storage, env_id, "old")
        storage.append_logs(old, [LogLine("info", "hello")])
        storage.finish_run(old, True, "null", None)
        scheduled = _run(storage, env_id, "scheduled")
        storage.finish_run(scheduled, True, "null", None)
        schedule = storage.ensure_schedule(
            env_id, "conn-1", "scheduled", "base", frequency_seconds=3600, state="running"
        )
        storage.set_schedule_last_run(schedule.schedule_id, scheduled)
        still_running = _run(storage, env_id, "running")
        storage.mark_run_started(still_running)
        clock.now += timedelta(days=40)
        recent = _run(storage, env_id, "recent")
        storage.finish_run(recent, True, "null", None)

        purged = storage.purge_runs(clock.now - timedelta(days=30))

        assert purged == 1
        with pytest.raises(NotFound):
            storage.get_run(env_id, old)
        kept = {run_id: storage.get_run(env_id, run_id).state for run_id in (scheduled, recent)}
        assert kept == {scheduled: "succeeded", recent: "succeeded"}
        assert storage.get_run(env_id, still_running).state == "running"
        assert storage.purge_runs(clock.now - timedelta(days=30)) == 0


class _Purges:
    """The storage areas the scheduler's tick uses, counting purges."""

    def __init__(self) -> None:
        self.cutoffs: list[object] = []

    def purge_runs(self, finished_before: object) -> int:
        self.cutoffs.append(finished_before)
        return 0

    def claim_due_schedules(self, now: object, limit: int = 100) -> list[object]:
        return []


def test_the_scheduler_purges_at_most_once_an_hour() -> None:
    clock = Clock()
    purges = _Purges()
    lifecycle = Lifecycle(
        purges,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        clock=lambda: clock.now,
        retention=timedelta(days=30),
    )
    lifecycle.tick()
    clock.now += timedelta(minutes=59)
    lifecycle.tick()
    clock.now += timedelta(minutes=2)
    lifecycle.tick()
    assert len(purges.cutoffs) == 2
    assert purges.cutoffs[-1] == clock.now - timedelta(days=30)
    forever = Lifecycle(purges, None, clock=lambda: clock.now)  # type: ignore[arg-type]
    forever.tick()
    assert len(purges.cutoffs) == 2
