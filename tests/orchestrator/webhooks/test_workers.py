"""The store's worker threads: they look at once at start and when woken, else at each poll,
stop for good, and take one row of an environment at a time, the others' beside it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from orchestrator.webhooks._workers import StoreWorkers, Wakeup


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


def test_workers_take_one_row_of_an_environment_at_a_time_and_the_others_beside() -> None:
    rows = [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5)]
    lock = threading.Lock()
    busy: dict[str, int] = {}
    most: dict[str, int] = {}
    done: list[int] = []

    def claim(skip: Sequence[int]) -> tuple[str, int] | None:
        skipped = {chr(ord("a") + n) for n in skip}
        with lock:
            for row in rows:
                if row[0] not in skipped:
                    rows.remove(row)
                    return row
        return None

    def handle(row: tuple[str, int]) -> None:
        with lock:
            busy[row[0]] = busy.get(row[0], 0) + 1
            most[row[0]] = max(most.get(row[0], 0), busy[row[0]])
        time.sleep(0.05)
        with lock:
            busy[row[0]] -= 1
            done.append(row[1])

    workers = StoreWorkers(
        "test", claim, handle, lambda row: ord(row[0]) - ord("a"), threads=3, poll_seconds=0.05
    )
    deadline = time.monotonic() + 10
    while len(done) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    workers.close(5)
    assert sorted(done) == [1, 2, 3, 4, 5]
    assert most == {"a": 1, "b": 1, "c": 1}


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
