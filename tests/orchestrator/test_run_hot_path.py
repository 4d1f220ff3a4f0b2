"""The hot path of a run a caller waits for (issue 13): with a free slot it is stored already
running, so a run is one write before the runner and one after; without one it waits
``queued`` in turn and is marked started when its slot comes, as before."""

from __future__ import annotations

import pathlib
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from corral.v1 import runner_pb2
from orchestrator.runs._fair_queue import FairQueue
from orchestrator.runs._manager import RunManager
from orchestrator.runs._tokens import RunTokens
from orchestrator.storage._areas import NewRun, Run
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.test_run_outcome import _spec
from tests.support.processes import wait_for


class CountingStorage(SqliteStorage):
    """Counts the run writes of the hot path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: Counter[str] = Counter()

    def create_run(self, env_id: int, run: NewRun) -> Run:
        self.writes["create_run"] += 1
        return super().create_run(env_id, run)

    def mark_run_started(self, run_id: str) -> None:
        self.writes["mark_run_started"] += 1
        super().mark_run_started(run_id)

    def finish_run(self, *args: Any) -> Run:
        self.writes["finish_run"] += 1
        return super().finish_run(*args)


class SeeingRunner:
    """Notes the state the run's row had while the runner ran it."""

    def __init__(self, storage: SqliteStorage) -> None:
        self.storage = storage
        self.states: list[str] = []

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        (env,) = self.storage.list_environments()
        run = self.storage.get_run(env.id, request.run_id)
        self.states.append(run.state)
        return runner_pb2.RunResponse(ok=True, output_json="2")

    def cancel(self, run_id: str) -> bool:
        return False


@pytest.fixture
def storage(tmp_path: pathlib.Path) -> Iterator[CountingStorage]:
    opened = CountingStorage(tmp_path / "corral.db")
    yield opened
    opened.close()


def _manager(storage: CountingStorage, slots: int) -> tuple[RunManager, SeeingRunner, FairQueue]:
    runner = SeeingRunner(storage)
    queue = FairQueue(slots, lambda env_id: slots)
    return RunManager(storage, RunTokens(), runner, queue), runner, queue


def test_with_a_free_slot_a_run_is_one_write_before_the_runner_and_one_after(
    storage: CountingStorage,
) -> None:
    spec = _spec(storage)
    runs, runner, _ = _manager(storage, 2)
    finished = runs.run(spec)
    runs.shutdown(0)
    assert (finished.state, finished.output_json) == ("succeeded", "2")
    assert finished.started_at is not None
    assert runner.states == ["running"]
    assert storage.writes == Counter(create_run=1, finish_run=1)


def test_without_a_free_slot_a_run_waits_queued_and_is_marked_started_in_its_turn(
    storage: CountingStorage,
) -> None:
    spec = _spec(storage)
    runs, runner, queue = _manager(storage, 1)
    done: list[Run] = []
    with queue.slot(spec.env.id):  # the one slot is taken
        waiter = threading.Thread(target=lambda: done.append(runs.run(spec)))
        waiter.start()
        assert wait_for(lambda: queue.waiting(spec.env.id) == 1, 10)
        assert [run.state for run in storage.list_runs(spec.env.id)] == ["queued"]
        assert queue.free_slot(spec.env.id) is None
    waiter.join(10)
    runs.shutdown(0)
    assert [run.state for run in done] == ["succeeded"]
    assert runner.states == ["running"]
    assert storage.writes == Counter(create_run=1, mark_run_started=1, finish_run=1)
