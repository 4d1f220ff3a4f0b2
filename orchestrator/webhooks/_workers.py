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
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import structlog

_log = structlog.get_logger("corral.webhooks")

R = TypeVar("R", bound="WaitingRow")


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


class WaitingRow(Protocol):
    """A row the store keeps waiting: its environment and the tries made before."""

    @property
    def env_id(self) -> int: ...

    @property
    def tries(self) -> int: ...


@dataclass(frozen=True)
class Tries:
    """How a row's tries go: ``attempts`` in all, ``backoff_seconds`` before the second,
    doubled before each next one."""

    attempts: int
    backoff_seconds: float


class StoreWorkers(Generic[R]):
    """``threads`` threads that each claim a row, try it, record the try, and claim the next,
    one environment per thread at a time.

    A try that may pass later (``handle`` says so, or raised) is put off by the backoff until
    the last attempt; then, or after a try that went through or failed for good, the row is
    forgotten (``tried`` with None). A store that cannot be read is looked at again at the next
    poll; a try that cannot be recorded leaves the row claimed until its claim runs out.
    """

    def __init__(
        self,
        name: str,
        claim: Callable[[float, Sequence[int]], Sequence[R]],
        handle: Callable[[R, int], bool],
        tried: Callable[[R, float | None], None],
        *,
        tries: Tries,
        threads: int,
        poll_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        name: the threads' name (numbered), and what the logs call the rows.
        claim: at most one due row, now the caller's, of none of the given environments
            (given the time, seconds since the epoch).
        handle: tries a row (given the attempt, 1 for the first); whether another try may
            help.
        tried: records a try's end: the row due again at that time, or (None) forgotten.
        tries: how many tries, and the waits between them.
        threads: how many work at once.
        poll_seconds: how often they look at the store when nothing wakes them.
        clock: seconds since the epoch (every orchestrator's claims are compared on it).
        """
        self.wakeup = Wakeup(poll_seconds)
        self._name = name
        self._claim_next = claim
        self._handle = handle
        self._tried = tried
        self._tries = tries
        self._clock = clock
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
                    self._work(row)
                finally:
                    with self._claiming:
                        self._working.discard(row.env_id)
                if self.wakeup.stopped:
                    return  # what waits stays claimed for a while, then another takes it

    def _claim(self) -> R | None:
        with self._claiming:
            try:
                due = self._claim_next(self._clock(), sorted(self._working))
            except Exception:  # the store is away: looked at again at the next poll
                _log.warning(f"{self._name} not read from the store", exc_info=True)
                return None
            if not due:
                return None
            self._working.add(due[0].env_id)
        self.wakeup.wake()  # another thread may take the next one meanwhile
        return due[0]

    def _work(self, row: R) -> None:
        attempt = row.tries + 1
        try:
            retry = self._handle(row, attempt)
        except Exception:  # the thread outlives one bad row; the try counts
            _log.exception(f"{self._name}: a try failed", attempt=attempt)
            retry = True
        later = self._tries.backoff_seconds * 2 ** (attempt - 1)
        retry_at = self._clock() + later if retry and attempt < self._tries.attempts else None
        try:
            self._tried(row, retry_at)
        except Exception:  # its claim runs out and it is tried again
            _log.warning(f"{self._name}: a try not stored", exc_info=True)
            return
        if retry_at is not None:
            self.wakeup.wake_after(later)
