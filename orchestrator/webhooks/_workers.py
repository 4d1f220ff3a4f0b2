"""Threads that work through rows waiting in the store (the notifier's notifications, the
intake's webhooks), fairly across environments.

Each thread claims one row at a time, of an environment no other thread of this process is
working for, so one tenant whose work is slow (a receiver that hangs, a webhook that starts
thousands of runs) holds one thread and never another tenant's rows. The threads look every
``poll`` seconds, at once when woken (a row made here, or the previous claim taken), and stop
when told; what they leave stays in the store, claimed for a while, for the next start or
another orchestrator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import structlog

_log = structlog.get_logger("corral.webhooks")

T = TypeVar("T")


class Wakeup:
    """A poll interval, a wake-up and a stop, for worker threads."""

    def __init__(self, poll_seconds: float) -> None:
        self._poll = poll_seconds
        self._changed = threading.Condition()
        self._woken = True  # at start: what a previous process left is due
        self._stopped = False
        self._polled = time.monotonic()

    @property
    def stopped(self) -> bool:
        """Whether ``stop`` was called."""
        return self._stopped

    def wait(self) -> bool:
        """Waits until woken or the next poll; whether the thread is to stop. Of the threads
        waiting, one takes each poll: the store is looked at once a poll, not once a thread."""
        with self._changed:
            while not self._stopped:
                if self._woken:
                    self._woken = False
                    return False
                since = time.monotonic() - self._polled
                if since >= self._poll:
                    self._polled = time.monotonic()
                    return False
                self._changed.wait(self._poll - since)
            return True

    def wake(self) -> None:
        """Makes the next ``wait`` (of one thread) return at once."""
        with self._changed:
            self._woken = True
            self._changed.notify()

    def wake_after(self, delay: float) -> None:
        """Wakes a thread after ``delay`` seconds when that comes before the next poll."""
        if delay < self._poll:
            timer = threading.Timer(delay, self.wake)
            timer.daemon = True
            timer.start()

    def stop(self) -> None:
        """Makes ``wait`` return True from now on."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()


class StoreWorkers(Generic[T]):
    """``threads`` threads that each claim a row (``claim``, given the environments to skip),
    handle it (``handle``), and claim the next, one environment per thread at a time."""

    def __init__(
        self,
        name: str,
        claim: Callable[[Sequence[int]], T | None],
        handle: Callable[[T], None],
        environment: Callable[[T], int],
        *,
        threads: int,
        poll_seconds: float,
    ) -> None:
        """Args:
        name: the threads' name (numbered).
        threads: how many work at once.
        poll_seconds: how often they look at the store when nothing wakes them.
        claim: the next row, claimed, of none of the given environments (None: none, or the
            store is away: it logs why).
        handle: does the row's work and records it (never raises for a bad row).
        environment: a row's environment.
        """
        self.wakeup = Wakeup(poll_seconds)
        self._claim_next = claim
        self._handle = handle
        self._environment = environment
        self._claiming = threading.Lock()
        self._working: set[int] = set()
        """The environments a thread of this process works for now (one row each)."""
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def close(self, timeout: float) -> None:
        """Stops the threads once the rows in hand are done (waits up to ``timeout`` s)."""
        self.wakeup.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while not self.wakeup.wait():
            while (row := self._claim()) is not None:
                try:
                    self._handle(row)
                except Exception:  # the thread outlives one bad row; it is logged
                    _log.exception("a waiting row was not handled")
                finally:
                    with self._claiming:
                        self._working.discard(self._environment(row))
                if self.wakeup.stopped:
                    return  # what waits stays claimed for a while, then another takes it

    def _claim(self) -> T | None:
        with self._claiming:
            row = self._claim_next(sorted(self._working))
            if row is None:
                return None
            self._working.add(self._environment(row))
        self.wakeup.wake()  # another thread may take the next one meanwhile
        return row
