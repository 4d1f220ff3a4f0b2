"""The fair queue: each environment its own limit, waiting runs served in turn, not in order of
arrival; a waiting caller's deadline and end bound its wait; shutdown ends what still waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from corral.errors import RunFailure
from orchestrator.runs._fair_queue import FairQueue

QUIET, NOISY = 1, 2


class Gate:
    """Jobs that block until released, recording the order they started in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()
        self._lock = threading.Lock()

    def job(self, name: str) -> Callable[[], None]:
        def run() -> None:
            with self._lock:
                self.started.append(name)
            self.release.wait(10)

        return run


class Call:
    """A waiting API call: a deadline, and an end the test can cause."""

    def __init__(self, remaining: float | None = None) -> None:
        self._deadline = None if remaining is None else time.monotonic() + remaining
        self._callbacks: list[Callable[[], None]] = []

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def add_callback(self, callback: Callable[[], None]) -> bool:
        self._callbacks.append(callback)
        return True

    def end(self) -> None:
        for callback in self._callbacks:
            callback()


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def _waiting(queue: FairQueue, call: Call) -> tuple[threading.Thread, list[RunFailure]]:
    """A thread waiting for a slot of the quiet environment; the errors it met."""
    errors: list[RunFailure] = []

    def wait() -> None:
        try:
            with queue.slot(QUIET, call):
                pass
        except RunFailure as failure:
            errors.append(failure)

    waiter = threading.Thread(target=wait)
    waiter.start()
    return waiter, errors


def _never_abandoned() -> None:
    raise AssertionError("abandoned")


def test_a_quiet_environment_waits_one_turn_not_the_whole_backlog() -> None:
    queue = FairQueue(capacity=1, limit_of=lambda env_id: 1)
    gate = Gate()
    futures = [queue.submit(NOISY, gate.job(f"noisy{i}"), _never_abandoned) for i in range(6)]
    _until(lambda: gate.started == ["noisy0"])
    futures.append(queue.submit(QUIET, gate.job("quiet"), _never_abandoned))
    gate.release.set()
    for future in futures:
        future.result(timeout=10)
    assert gate.started[:3] == ["noisy0", "noisy1", "quiet"]  # its turn comes next round
    assert sorted(gate.started) == sorted([f"noisy{i}" for i in range(6)] + ["quiet"])
    queue.close()


def test_an_environment_at_its_limit_leaves_the_other_slots_to_others() -> None:
    queue = FairQueue(capacity=8, limit_of=lambda env_id: 2 if env_id == NOISY else 8)
    gate = Gate()
    noisy = [queue.submit(NOISY, gate.job(f"noisy{i}"), _never_abandoned) for i in range(10)]
    _until(lambda: len(gate.started) == 2)
    assert queue.holding(NOISY) == 2
    assert queue.waiting(NOISY) == 8
    with queue.slot(QUIET, Call(remaining=5.0)):  # admitted at once, beside the noisy runs
        assert queue.holding(QUIET) == 1
    assert queue.holding(QUIET) == 0
    time.sleep(0.05)
    assert len(gate.started) == 2  # the noisy environment never went past its limit
    gate.release.set()
    for future in noisy:
        future.result(timeout=10)
    assert queue.holding(NOISY) == 0
    queue.close()


def test_a_waiting_callers_deadline_ends_its_wait_with_a_typed_error() -> None:
    queue = FairQueue(capacity=1, limit_of=lambda env_id: 1)
    gate = Gate()
    running = queue.submit(NOISY, gate.job("long"), _never_abandoned)
    _until(lambda: gate.started == ["long"])
    started = time.monotonic()
    with pytest.raises(RunFailure) as caught, queue.slot(QUIET, Call(remaining=0.3)):
        pass
    assert caught.value.code == "execution_timeout"
    assert caught.value.details["queued"] is True
    assert time.monotonic() - started < 2.0
    assert queue.waiting(QUIET) == 0  # nothing left behind in the queue
    gate.release.set()
    running.result(timeout=10)
    with queue.slot(QUIET, Call(remaining=5.0)):
        pass  # the slot came back
    queue.close()


def test_a_caller_that_goes_away_leaves_the_queue_at_once() -> None:
    queue = FairQueue(capacity=1, limit_of=lambda env_id: 1)
    gate = Gate()
    running = queue.submit(NOISY, gate.job("long"), _never_abandoned)
    _until(lambda: gate.started == ["long"])
    call = Call()
    waiter, errors = _waiting(queue, call)
    _until(lambda: queue.waiting(QUIET) == 1)
    call.end()
    waiter.join(timeout=2)
    assert not waiter.is_alive()
    assert [e.code for e in errors] == ["execution_cancelled"]
    assert queue.waiting(QUIET) == 0
    gate.release.set()
    running.result(timeout=10)
    queue.close()


def test_a_failing_job_gives_its_slot_back() -> None:
    queue = FairQueue(capacity=1, limit_of=lambda env_id: 1)

    def boom() -> None:
        raise ValueError("boom")

    failed = queue.submit(NOISY, boom, _never_abandoned)
    with pytest.raises(ValueError, match="boom"):
        failed.result(timeout=5)
    done = queue.submit(NOISY, lambda: None, _never_abandoned)
    done.result(timeout=5)
    assert queue.holding(NOISY) == 0
    queue.close()


def test_closing_ends_queued_runs_and_refuses_waiting_callers() -> None:
    queue = FairQueue(capacity=1, limit_of=lambda env_id: 1)
    gate = Gate()
    running = queue.submit(NOISY, gate.job("long"), _never_abandoned)
    _until(lambda: gate.started == ["long"])
    abandoned: list[str] = []
    queued = queue.submit(NOISY, gate.job("never"), lambda: abandoned.append("queued"))
    waiter, errors = _waiting(queue, Call())
    _until(lambda: queue.waiting(QUIET) == 1)
    still_running = queue.close()
    waiter.join(timeout=2)
    assert abandoned == ["queued"]
    assert queued.cancelled()
    assert [e.code for e in errors] == ["execution_cancelled"]
    assert still_running == [running]
    late: list[str] = []
    after = queue.submit(QUIET, gate.job("after"), lambda: late.append("after"))
    assert after.cancelled()
    assert late == ["after"]
    gate.release.set()
    running.result(timeout=10)
    assert gate.started == ["long"]


def test_a_free_slot_is_taken_at_once_only_when_nobody_waits_and_the_limit_allows() -> None:
    """The hot path's slot (``free_slot``) never passes a waiting run, nor an environment's
    limit, and gives its slot back to the next in turn."""
    queue = FairQueue(2, lambda env_id: 1)
    held = queue.free_slot(QUIET)
    assert held is not None
    with held:
        assert queue.holding(QUIET) == 1
        assert queue.free_slot(QUIET) is None  # at its limit
        noisy = queue.free_slot(NOISY)
        assert noisy is not None
        with noisy:
            assert queue.snapshot() == ({}, 2, 2)
        waiter, errors = _waiting(queue, Call())
        _until(lambda: queue.waiting(QUIET) == 1)
        assert queue.free_slot(NOISY) is None  # a run waits: it goes first
    waiter.join(5)
    assert not errors
    assert queue.snapshot() == ({}, 0, 2)
    queue.close()
    assert queue.free_slot(QUIET) is None
