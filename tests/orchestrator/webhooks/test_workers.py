"""The store's worker threads: they look at once at start and when woken, else at each poll,
stop for good, and take one row of an environment at a time, the others' beside it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import NamedTuple

from orchestrator.webhooks._workers import StoreWorkers, Tries, Wakeup


def _timed(wakeup: Wakeup) -> tuple[bool, float]:
    start = time.monotonic()
    stopped = wakeup.wait()
    return stopped, time.monotonic() - start


def test_it_looks_at_once_at_start_then_at_each_poll() -> None:
    wakeup = Wakeup(0.2)
    assert _timed(wakeup)[1] < 0.1  # what a previous process left
    stopped, waited = _timed(wakeup)
    assert not stopped
    assert waited >= 0.15


def test_a_wake_up_and_a_stop_end_the_wait_at_once() -> None:
    wakeup = Wakeup(30.0)
    wakeup.wait()
    threading.Timer(0.05, wakeup.wake).start()
    stopped, waited = _timed(wakeup)
    assert not stopped
    assert waited < 5  # not the 30 s poll
    threading.Timer(0.05, wakeup.stop).start()
    stopped, waited = _timed(wakeup)
    assert stopped
    assert waited < 5
    assert wakeup.stopped
    assert wakeup.wait()  # stopped for good


def test_a_wake_up_after_a_delay_shorter_than_the_poll() -> None:
    wakeup = Wakeup(30.0)
    wakeup.wait()
    wakeup.wake_after(0.05)
    assert _timed(wakeup)[1] < 5
    before = threading.active_count()
    wakeup.wake_after(60.0)  # the poll comes first: no timer
    assert threading.active_count() == before


class _Row(NamedTuple):
    env_id: int
    number: int
    tries: int = 0


def test_workers_take_one_row_of_an_environment_at_a_time_and_the_others_beside() -> None:
    rows = [_Row(0, 1), _Row(0, 2), _Row(1, 3), _Row(0, 4), _Row(2, 5)]
    lock = threading.Lock()
    busy: dict[int, int] = {}
    most: dict[int, int] = {}
    done: list[int] = []

    def claim(_now: float, skip: Sequence[int]) -> list[_Row]:
        with lock:
            for row in rows:
                if row.env_id not in skip:
                    rows.remove(row)
                    return [row]
        return []

    def handle(row: _Row, _attempt: int) -> bool:
        with lock:
            busy[row.env_id] = busy.get(row.env_id, 0) + 1
            most[row.env_id] = max(most.get(row.env_id, 0), busy[row.env_id])
        time.sleep(0.05)
        with lock:
            busy[row.env_id] -= 1
            done.append(row.number)
        return False

    workers = StoreWorkers(
        "test", claim, handle, lambda row, at: None, tries=Tries(5, 0.01), threads=3,
        poll_seconds=0.05,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while len(done) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    workers.close(5)
    assert sorted(done) == [1, 2, 3, 4, 5]
    assert most == {0: 1, 1: 1, 2: 1}


def test_a_try_that_may_pass_later_is_put_off_until_the_last_then_forgotten() -> None:
    """The workers count the tries and put a row off by the doubling backoff; one whose try
    raised counts as tried; the last attempt forgets it; a store that cannot be read is only
    looked at again."""
    waiting = [_Row(0, 1)]
    recorded: list[tuple[int, float | None]] = []
    clock = [1000.0]
    lock = threading.Lock()
    reads = [RuntimeError("the store is away")]

    def claim(now: float, skip: Sequence[int]) -> list[_Row]:
        with lock:
            if reads:
                raise reads.pop()
            return [waiting.pop()] if waiting else []

    def handle(row: _Row, attempt: int) -> bool:
        assert attempt == row.tries + 1
        if attempt == 2:
            raise ValueError("a failure on our side")
        return True

    def tried(row: _Row, retry_at: float | None) -> None:
        with lock:
            recorded.append((row.tries + 1, retry_at))
            if retry_at is not None:
                waiting.append(row._replace(tries=row.tries + 1))

    workers = StoreWorkers(
        "test", claim, handle, tried, tries=Tries(3, 0.01), threads=2, poll_seconds=0.02,
        clock=lambda: clock[0],
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while len(recorded) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    workers.close(5)
    assert recorded == [(1, 1000.01), (2, 1000.02), (3, None)]


def test_of_the_threads_waiting_one_takes_each_poll() -> None:
    """Idle threads look at the store once a poll between them, not once a poll each."""
    wakeup = Wakeup(0.1)
    wakeup.wait()  # the look at start
    looks: list[float] = []
    lock = threading.Lock()

    def idle() -> None:
        while not wakeup.wait():
            with lock:
                looks.append(time.monotonic())

    threads = [threading.Thread(target=idle) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.05)
    wakeup.stop()
    for thread in threads:
        thread.join(5)
    assert 5 <= len(looks) <= 12  # about ten polls in a second, not forty
