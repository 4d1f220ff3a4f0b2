"""SDK callbacks wait out a passing outage of the store, within their run's time.

A callback that meets a store that cannot be reached for now (``storage_unavailable`` with a
passing reason, ``orchestrator.storage._waits.PASSING_REASONS``: the server is down, restarting,
or the connection broke) is tried again, whole, after a pause with jitter that doubles from
:data:`FIRST_PAUSE_S` to :data:`MAX_PAUSE_S`, for as long as its caller has time: the gRPC
call's deadline, which the runner sets to the run's (``runner.host._forward``). Each try waits
for a database connection :data:`TRY_WAIT_S` at most, never past that deadline. When the time
is up it fails with the typed ``storage_unavailable`` it last met, :data:`REPLY_MARGIN_S` before
the deadline, so the runner gets that error rather than a deadline of its own. Any other error
(a constraint, a budget, a full disk, ``storage_busy``) is answered at once, as before.

The retry lives here, once for every callback, outermost of the callbacks' interceptors: the
run token is resolved again on each try (it is in the store too) and no SDK call slot is held
during a pause. The runner does not retry store errors itself (it retries only
``too_many_sdk_calls``), so the tries are never stacked.

What is tried again must stay correct when the first try did its work:

- a call that failed before its COMMIT did nothing (the transaction is rolled back with the
  connection), so every callback may be tried again after it;
- a call whose COMMIT was on its way when the connection broke (``commit_unknown``) may have
  been committed. It is tried again when doing it twice is doing it once: ``batch_save`` is an
  upsert by id (no duplicate; the second try counts the records as unchanged, and unchanged
  records do not count against the run's budgets again), ``batch_delete``, ``batch_update``
  (the same deep-merge twice), the metadata calls, ``clear_checkpoint``, ``track_deletes_start``
  and the reads. A log line may then be stored twice. :data:`NOT_REPEATED_AFTER_UNKNOWN_COMMIT`
  are answered with the error instead, for the function to decide: a checkpoint saved on top of
  a version would conflict with itself, and a second ``track_deletes_end`` finds no tracking.
- :data:`NOT_REPEATED` are never tried again whole: a nested action is a run of its own, and a
  proxied request may have reached the upstream API. ``Proxy`` retries its own store reads,
  before it sends (``CallbacksService.Proxy``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import structlog

from corral._interceptors import Behaviour, CallWrapper
from corral.errors import CorralError
from orchestrator._time_left import LONGEST_CALLBACK_SECONDS, time_left
from orchestrator.callbacks._run_auth import CALLBACKS_PREFIX
from orchestrator.storage._waits import COMMIT_UNKNOWN, passing, waiting_until

_log = structlog.get_logger("corral.callbacks")

T = TypeVar("T")

FIRST_PAUSE_S = 0.05
MAX_PAUSE_S = 1.0
"""Pauses between tries: from the first, doubled each time up to the most, each with jitter."""

REPLY_MARGIN_S = 0.25
"""Time kept before the caller's deadline to answer it with the typed error."""

TRY_WAIT_S = 1.0
"""How long one try waits for a pooled connection: the pool gives up a try to reconnect after
a while (``RECONNECT_TRY_S``), and the next try asks it to begin anew."""

NO_DEADLINE_WAIT_S = 30.0
"""How long a call without a deadline waits for the store (the runner always sets one)."""

NOT_REPEATED = frozenset({"TriggerAction", "Proxy"})
"""RPCs never tried again whole."""

NOT_REPEATED_AFTER_UNKNOWN_COMMIT = frozenset({"SaveCheckpoint", "TrackDeletesEnd"})
"""RPCs not tried again when their first try may have been committed."""


class StoreRetry(CallWrapper):
    """Tries callbacks again while the store is away for now and their caller has time."""

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        if not method.startswith(CALLBACKS_PREFIX):
            return behaviour
        rpc = method.removeprefix(CALLBACKS_PREFIX)
        if rpc in NOT_REPEATED:
            return behaviour
        again_if_unknown = rpc not in NOT_REPEATED_AFTER_UNKNOWN_COMMIT

        def retried(request: Any, context: grpc.ServicerContext) -> Any:
            return retrying(
                lambda: behaviour(request, context),
                context,
                rpc=rpc,
                again_if_unknown=again_if_unknown,
            )

        return retried


def deadline_of(context: grpc.ServicerContext) -> float:
    """The call's deadline in ``time.monotonic()`` seconds (the run's, set by the runner)."""
    remaining = time_left(context, LONGEST_CALLBACK_SECONDS)
    return time.monotonic() + (NO_DEADLINE_WAIT_S if remaining is None else remaining)


def retrying(
    attempt: Callable[[], T],
    context: grpc.ServicerContext,
    *,
    rpc: str,
    again_if_unknown: bool = True,
    sleep: Callable[[float], Any] = time.sleep,
) -> T:
    """``attempt()``, tried again after a passing store outage while the call has time.

    Raises:
        Unavailable: code ``storage_unavailable``, the store was still away when the call's
            time was up (or the first try may have been committed and ``again_if_unknown`` is
            False); whatever else ``attempt`` raises, at once.
    """
    deadline = deadline_of(context) - REPLY_MARGIN_S
    pause = FIRST_PAUSE_S
    tries = 0
    while True:
        tries += 1
        try:
            with waiting_until(min(deadline, time.monotonic() + TRY_WAIT_S)):
                result = attempt()
        except CorralError as exc:
            unknown = exc.details.get("reason") == COMMIT_UNKNOWN
            if not passing(exc) or (unknown and not again_if_unknown):
                raise
            left = deadline - time.monotonic()
            if left <= 0 or not context.is_active():
                _log.warning(
                    "callback failed: the store stayed unavailable for the call's time",
                    rpc=rpc,
                    tries=tries,
                    reason=exc.details.get("reason"),
                )
                raise
            if tries == 1:
                _log.warning(
                    "the store is unavailable: the callback waits and tries again",
                    rpc=rpc,
                    reason=exc.details.get("reason"),
                    seconds_left=round(left, 3),
                )
            sleep(min(pause * random.uniform(0.5, 1.0), left))  # noqa: S311 - jitter, not secrecy
            pause = min(pause * 2, MAX_PAUSE_S)
            continue
        if tries > 1:
            _log.info("the store is back: the callback went through", rpc=rpc, tries=tries)
        return result
