"""The wake-up of a thread that works through the store's waiting rows (the notifier's, the
intake's): it looks every ``poll`` seconds, at once when woken, and stops when told."""

from __future__ import annotations

import threading


class Wakeup:
    """A poll interval, a wake-up and a stop, for one worker thread."""

    def __init__(self, poll_seconds: float) -> None:
        self._poll = poll_seconds
        self._changed = threading.Condition()
        self._woken = True  # at start: what a previous process left is due
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """Whether ``stop`` was called."""
        return self._stopped

    def wait(self) -> bool:
        """Waits until woken or the next poll; whether the thread is to stop."""
        with self._changed:
            if not self._woken and not self._stopped:
                self._changed.wait(self._poll)
            self._woken = False
            return self._stopped

    def wake(self) -> None:
        """Makes the next ``wait`` return at once."""
        with self._changed:
            self._woken = True
            self._changed.notify()

    def wake_after(self, delay: float) -> None:
        """Wakes the thread after ``delay`` seconds when that comes before the next poll."""
        if delay < self._poll:
            timer = threading.Timer(delay, self.wake)
            timer.daemon = True
            timer.start()

    def stop(self) -> None:
        """Makes ``wait`` return True from now on."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
