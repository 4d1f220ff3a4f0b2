"""A caller's deadline is bounded before any arithmetic (``orchestrator._time_left``).

``grpc-timeout: 99999999H`` is legal; a breached runner host sent it to ``RunnerCallbacks/Proxy``
and ``datetime.now() + timedelta(seconds=...)`` raised ``OverflowError``: INTERNAL
(redteam-boundary2 ``callbacks_far_deadline.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator._time_left import LONGEST_CALLBACK_SECONDS, time_left
from orchestrator.callbacks._service import _deadline
from orchestrator.callbacks._store_retry import deadline_of
from orchestrator.runs._caller import NO_DEADLINE, CallerWatch

FAR = [1e15, 99_999_999 * 3600.0, 1e300, float("inf")]
"""Times left no run needs: up to what ``grpc-timeout`` can say, and past it."""


class _Call:
    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return True


@pytest.mark.parametrize("remaining", FAR)
def test_a_far_callback_deadline_is_the_longest_a_run_can_last(remaining: float) -> None:
    deadline = _deadline(_Call(remaining))  # type: ignore[arg-type]
    assert deadline is not None
    longest = timedelta(seconds=LONGEST_CALLBACK_SECONDS)
    assert deadline - datetime.now(UTC) <= longest
    assert deadline_of(_Call(remaining)) <= time.monotonic() + LONGEST_CALLBACK_SECONDS  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("remaining", "left"), [(None, None), (-5.0, 0.0), (float("nan"), 0.0), (12.5, 12.5)]
)
def test_near_missing_and_odd_deadlines(remaining: float | None, left: float | None) -> None:
    assert time_left(_Call(remaining), 60.0) == left
    assert time_left(None, 60.0) is None
    if remaining is None:
        assert _deadline(_Call(remaining)) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("remaining", FAR)
def test_a_far_api_deadline_leaves_the_run_its_own_limit(remaining: float) -> None:
    watch = CallerWatch(_Call(remaining), lambda: True)
    assert watch.bound(30.0) == 30.0
    assert not watch.bound_by_caller
    assert time_left(_Call(remaining), NO_DEADLINE) == NO_DEADLINE
