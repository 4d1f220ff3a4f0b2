"""The API call a synchronous run answers: its deadline bounds the run, its end cancels it.

An action triggered and waited for, a sync run now, a dry run and a deploy's describe each
answer a client's call. When that call has a deadline, the runner is given no more time than
is left of it; when the call ends before the run (the client cancelled, its deadline passed,
its connection went away), the run is cancelled on its runner, which kills the worker. The run
then ends with a typed error (``execution_timeout`` or ``execution_cancelled``), never stays
``running``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

import structlog

from corral.errors import RunFailure
from orchestrator._time_left import time_left

_log = structlog.get_logger("corral.runs")

CANCEL_RETRY_SECONDS = 0.1
"""How often a run is asked again to stop, should its runner not have taken it yet."""
DEADLINE_SLACK_SECONDS = 0.25
"""A caller that ends this close to its deadline ended by it (gRPC's timers are not exact)."""
NO_DEADLINE = 10 * 365 * 24 * 3600.0
"""gRPC reports a call without a deadline as one this far away, or further."""


class Caller(Protocol):
    """What the dispatcher needs of the API call (a ``grpc.ServicerContext`` has it)."""

    def time_remaining(self) -> float | None:
        """Seconds until the call's deadline (None or very many: it has none)."""

    def add_callback(self, callback: Callable[[], None]) -> bool:
        """Calls ``callback`` when the call ends; False when it has already ended."""


class CallerWatch:
    """Ties one runner call to the API call it answers.

    ``bound`` shortens the runner call's timeout to the caller's deadline (when that deadline
    passes, the runner call's does too: the runner client cancels the run, which ends with
    ``execution_timeout``). While the watch is open, the caller's call ending before its
    deadline (a cancel, a lost connection) calls ``cancel``, again every
    ``CANCEL_RETRY_SECONDS`` until the runner has the run and kills it or the runner call ends;
    the run ends with ``execution_cancelled``.
    """

    def __init__(self, caller: Caller | None, cancel: Callable[[], bool]) -> None:
        self._caller = caller
        self._cancel = cancel
        self._finished = threading.Event()
        self._deadline = float("inf")
        self.bound_by_caller = False
        """Whether the caller's deadline, not the run's limit, set the runner call's timeout."""

    def bound(self, timeout: float) -> float:
        """The runner call's timeout: ``timeout``, or what is left of the caller's, if less."""
        remaining = time_left(self._caller, NO_DEADLINE)
        if remaining is None or remaining >= NO_DEADLINE or remaining >= timeout:
            return timeout
        self.bound_by_caller = True
        self._deadline = time.monotonic() + max(remaining, 0.0)
        return max(remaining, 0.0)

    def deadline_passed(self) -> bool:
        """Whether the caller's deadline bounds the run and has (all but) passed."""
        return time.monotonic() >= self._deadline - DEADLINE_SLACK_SECONDS

    def __enter__(self) -> CallerWatch:
        if self._caller is not None and not self._caller.add_callback(self._caller_ended):
            raise RunFailure("execution_cancelled", "the caller went away before the run started")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._finished.set()

    def _caller_ended(self) -> None:
        if self._finished.is_set():
            return  # the run ended first: the usual case, the call is being answered
        remaining = time_left(self._caller, NO_DEADLINE)
        if (remaining is not None and remaining <= 0) or self.deadline_passed():
            return  # its deadline passed: so does the runner call's, which ends the run
        threading.Thread(target=self._cancel_until_done, name="run-cancel", daemon=True).start()

    def _cancel_until_done(self) -> None:
        while not self._finished.is_set():
            try:
                if self._cancel():
                    return
            except Exception:
                _log.exception("cancelling a run its caller gave up on failed")
                return
            self._finished.wait(CANCEL_RETRY_SECONDS)
