"""The wake-up of the store's worker threads: at once at start and when woken, else at each
poll, and stopped for good."""

from __future__ import annotations

import threading
import time

from orchestrator.webhooks._wakeup import Wakeup


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
