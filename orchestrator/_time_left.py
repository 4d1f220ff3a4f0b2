"""A caller's time left, bounded before anything is computed with it.

gRPC hands a server the deadline its client chose: ``grpc-timeout`` may legally say 99,999,999
hours (11,000 years), and a breached runner host or any API client may send that.
``datetime.now() + timedelta(seconds=...)`` of such a value raises ``OverflowError`` (past year
9999), so every read of a caller's ``time_remaining()`` goes through :func:`time_left`, which
bounds it by the longest the call can need (a run's own limit) before any arithmetic.
"""

from __future__ import annotations

import math
from typing import Protocol

from corral.limits import CEILING

LONGEST_CALLBACK_SECONDS = CEILING.wall_seconds + 120.0
"""The most time a run's callback can have: no run lasts past ``CEILING.wall_seconds``, and its
token dies 120 s after its limit (``orchestrator/runs/_dispatch.py``, ``TOKEN_GRACE_SECONDS``)."""


class HasTimeLeft(Protocol):
    """A call that knows its deadline (a ``grpc.ServicerContext``, a ``Caller``)."""

    def time_remaining(self) -> float | None:
        """Seconds until the call's deadline; None without one."""


def time_left(call: HasTimeLeft | None, longest: float) -> float | None:
    """The call's seconds left, between 0 and ``longest``; None when it has no deadline.

    A NaN (no gRPC gives one; a fake or a bug might) is no time left.
    """
    remaining = None if call is None else call.time_remaining()
    if remaining is None:
        return None
    seconds = float(remaining)
    if math.isnan(seconds):
        return 0.0
    return min(max(seconds, 0.0), longest)
