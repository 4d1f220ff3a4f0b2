"""Time, behind a seam, so that waiting can be faked in tests.

Everything in the proxy that reads the time or waits (retry backoff, ``Retry-After``, token
expiry) goes through a :class:`Clock`. Production code passes :class:`SystemClock`; tests pass
:class:`FakeClock`, which records every sleep and advances its own time instead of waiting.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """The time source and the way to wait."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a negative value waits nothing)."""
        ...


class SystemClock:
    """The real wall clock; :meth:`sleep` blocks the calling thread."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock for tests: sleeping returns at once and moves the time forward.

    Attributes:
        sleeps: every duration passed to :meth:`sleep`, in order.
    """

    def __init__(self, start: datetime | None = None) -> None:
        """Start the clock at ``start`` (default 2024-01-01T00:00:00Z).

        Args:
            start: the initial time; a naive value is taken as UTC.
        """
        start = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._now = start if start.tzinfo else start.replace(tzinfo=UTC)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        """The fake current time."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record ``seconds`` and advance the fake time by it, without waiting."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += timedelta(seconds=max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        """Move the fake time forward without recording a sleep."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
