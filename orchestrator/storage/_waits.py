"""How long a store call may wait for the database, and which of its failures are passing.

A caller with a deadline (an SDK callback, bounded by its run's) binds it with
:func:`waiting_until`; the PostgreSQL engine then waits for a pooled connection no later than
that, rather than its own wait (``DEFAULT_WAIT_TIMEOUT_S``), so a call never outlives the run
that made it. The SQLite engine never waits on a pool and ignores it.

A store that cannot be reached for now fails with ``Unavailable``, code
``storage_unavailable``, and one of :data:`PASSING_REASONS` as ``details["reason"]``: the server
is down, restarting or the connection broke. Those pass by themselves once the server is back
(the pool reconnects), so a caller with time left may try again (``orchestrator.callbacks.
_store_retry``). Other reasons (a full disk, a read-only database) need an operator.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

from corral.errors import CorralError

SERVER_UNREACHABLE = "server_unreachable"
"""No connection could be had within the wait: the server is down or refuses connections."""
CONNECTION_LOST = "connection_lost"
"""The connection broke mid-call (the server went away); nothing of the call was committed."""
SERVER_RESTARTING = "server_restarting"
"""The server is shutting down or starting up (SQLSTATE 57P01, 57P02, 57P03)."""
COMMIT_UNKNOWN = "commit_unknown"
"""The connection broke while the COMMIT was on its way: the call may or may not have been
committed. Only a call that may be repeated safely (an upsert) is tried again."""

PASSING_REASONS = frozenset(
    {SERVER_UNREACHABLE, CONNECTION_LOST, SERVER_RESTARTING, COMMIT_UNKNOWN}
)
"""Reasons of ``storage_unavailable`` that pass once the server is back."""

_wait_until: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "corral_store_wait_until", default=None
)


@contextlib.contextmanager
def waiting_until(deadline: float | None) -> Iterator[None]:
    """Store calls in the block wait for the database no later than ``deadline``
    (``time.monotonic()`` seconds; None: the store's own wait)."""
    token = _wait_until.set(deadline)
    try:
        yield
    finally:
        _wait_until.reset(token)


def wait_seconds(default: float) -> float:
    """How long a store call may wait now: ``default``, or less when the caller's deadline
    (:func:`waiting_until`) is sooner (at least a few milliseconds)."""
    deadline = _wait_until.get()
    if deadline is None:
        return default
    return max(0.005, min(default, deadline - time.monotonic()))


def passing(error: BaseException) -> bool:
    """Whether ``error`` is a store that cannot be reached for now (it passes by itself)."""
    return (
        isinstance(error, CorralError)
        and error.code == "storage_unavailable"
        and error.details.get("reason") in PASSING_REASONS
    )
