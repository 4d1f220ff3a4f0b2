"""Retention: runs that ended long ago are purged with their logs; running runs and a
schedule's last run are kept; the scheduler purges at most once an hour, each environment by its
own setting ``retention_days`` (else the server's ``CORRAL_RUN_RETENTION_DAYS``)."""

from __future__ import annotations

import pathlib
from datetime import timedelta

import pytest

from corral.errors import InvalidRequest, NotFound
from orchestrator._env_settings import validated
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.storage._areas import Environment, LogLine, NewRun, Storage
from tests.orchestrator.storage_support import START, Clock, make_tenant, open_engine


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

    def list_environments(self) -> list[Environment]:
        return [Environment(1, "e", {}, START)]

    def purge_runs(self, finished_before: object, env_id: int | None = None) -> int:
        assert env_id == 1
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


def _finished(storage: Storage, env_id: int, name: str) -> str:
    run_id = _run(storage, env_id, name)
    storage.append_logs(run_id, [LogLine("info", f"log of {name}")])
    storage.finish_run(run_id, True, "null", None)
    return run_id


def _kept(storage: Storage, runs: dict[str, tuple[int, str]]) -> set[str]:
    kept = set()
    for name, (env_id, run_id) in runs.items():
        try:
            storage.get_run(env_id, run_id)
        except NotFound:
            continue
        kept.add(name)
    return kept


def test_each_environment_is_purged_by_its_own_retention(
    engine: str, tmp_path: pathlib.Path
) -> None:
    clock = Clock()
    with open_engine(engine, tmp_path, clock) as storage:
        short, _ = storage.create_environment("short")
        long, _ = storage.create_environment("long")
        server_default, _ = storage.create_environment("default")
        forever, _ = storage.create_environment("forever")
        storage.set_environment_settings(short.id, validated({"retention_days": 2}))
        storage.set_environment_settings(long.id, validated({"retention_days": 10.5}))
        storage.set_environment_settings(forever.id, validated({"retention_days": 0}))
        environments = {"short": short, "long": long, "default": server_default, "forever": forever}
        runs = {
            name: (env.id, _finished(storage, env.id, name)) for name, env in environments.items()
        }
        lifecycle = Lifecycle(
            storage,
            None,  # type: ignore[arg-type]  # no schedule is due: no run is started
            clock=lambda: clock.now,
            retention=timedelta(days=30),
        )

        clock.now += timedelta(days=1)
        lifecycle.tick()
        assert _kept(storage, runs) == {"short", "long", "default", "forever"}

        clock.now += timedelta(days=2)  # 3 days after the runs ended
        lifecycle.tick()
        assert _kept(storage, runs) == {"long", "default", "forever"}

        clock.now += timedelta(days=8)  # 11 days
        lifecycle.tick()
        assert _kept(storage, runs) == {"default", "forever"}
        assert [line.message for line in storage.get_logs(*runs["default"])] == ["log of default"]

        clock.now += timedelta(days=20)  # 31 days: past the server's 30
        lifecycle.tick()
        assert _kept(storage, runs) == {"forever"}

        clock.now += timedelta(days=3650)
        lifecycle.tick()
        assert _kept(storage, runs) == {"forever"}


def test_purging_one_environment_leaves_the_others(engine: str, tmp_path: pathlib.Path) -> None:
    clock = Clock()
    with open_engine(engine, tmp_path, clock) as storage:
        one, _ = storage.create_environment("one")
        other, _ = storage.create_environment("other")
        mine = _finished(storage, one.id, "mine")
        theirs = _finished(storage, other.id, "theirs")
        clock.now += timedelta(days=1)
        assert storage.purge_runs(clock.now, env_id=one.id) == 1
        with pytest.raises(NotFound):
            storage.get_run(one.id, mine)
        assert storage.get_run(other.id, theirs).state == "succeeded"


@pytest.mark.parametrize("days", [0, 0.5, 7, 36_500])
def test_retention_days_is_a_number_of_days_0_for_forever(days: float) -> None:
    assert validated({"retention_days": days})["retention_days"] == days


def test_retention_days_unset_is_the_server_default() -> None:
    assert "retention_days" not in validated({})
    assert "retention_days" not in validated({"retention_days": None})


@pytest.mark.parametrize("days", [-1, 36_501, "7", True, float("nan"), float("inf")])
def test_a_bad_retention_is_refused(days: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validated({"retention_days": days})
    assert caught.value.code == "invalid_settings"
    assert "retention_days" in caught.value.message
