"""Fair admission of runs: each environment its own limit, the queue served round robin.

Every top-level run (an action, a sync, a webhook, an on-event function, a describe, a dry
run) takes a slot before it goes to a runner. There are ``capacity`` slots in all; an
environment holds at most its own limit of them (``concurrency.runs`` of its settings). When a
slot frees, the next environment in turn with a run waiting and room under its limit gets it,
so a tenant with hundreds of queued runs delays another tenant's run by at most one turn, never
by its whole backlog.

A synchronous run waits for its slot in the thread of the API call that waits for it (bounded
by that call's deadline and ended when the call goes away; the public API bounds how many
calls one environment may have open). A background run waits in the queue as data, holding no
thread; it runs on one of ``capacity`` threads once admitted. Nested runs
(``nango.trigger_action``) run in their parent's slot.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

import structlog

from corral.errors import RunFailure
from orchestrator._time_left import time_left
from orchestrator.runs._caller import NO_DEADLINE, Caller

_log = structlog.get_logger("corral.runs")


@dataclass(eq=False)
class _Ticket:
    env_id: int
    job: Callable[[], None] | None = None
    """A background run's work (None: a synchronous caller waits on ``admitted``)."""
    abandon: Callable[[], None] | None = None
    """Ends a background run that is dropped from the queue at shutdown."""
    future: futures.Future[None] = field(default_factory=futures.Future)
    wake: threading.Event = field(default_factory=threading.Event)
    """Set when a synchronous caller's ticket is admitted or refused, or its call ends."""
    admitted: bool = False
    refused: str = ""
    """Why a synchronous caller was dropped (the queue closed)."""


class FairQueue:
    """Slots for runs, shared fairly across environments (see the module's docstring)."""

    def __init__(self, capacity: int, limit_of: Callable[[int], int]) -> None:
        """``capacity``: slots in all; ``limit_of(env_id)``: an environment's own limit (called
        under the queue's lock too, so it must be quick: ``ConcurrencyLimits.of`` is cached)."""
        self._capacity = capacity
        self._limit_of = limit_of
        self._lock = threading.Lock()
        self._waiting: dict[int, deque[_Ticket]] = {}
        self._turns: deque[int] = deque()
        """Environments with waiting tickets, in the order they get their next slot."""
        self._holding: dict[int, int] = {}
        self._held = 0
        self._closed = False
        self._running: set[_Ticket] = set()
        self._threads = futures.ThreadPoolExecutor(max_workers=capacity, thread_name_prefix="run")

    def submit(
        self, env_id: int, job: Callable[[], None], abandon: Callable[[], None]
    ) -> futures.Future[None]:
        """Queues a background run; ``job`` runs on a run thread once it has a slot.

        The future is done when the job has run, or, when the queue closes first, once
        ``abandon`` has.
        """
        ticket = _Ticket(env_id, job=job, abandon=abandon)
        self._limit_of(env_id)  # read (and cached) before the lock, which admission holds
        with self._lock:
            if self._closed:
                ticket.future.cancel()
                abandon()
                return ticket.future
            self._enqueue(ticket)
            admitted = self._admit()
        self._start(admitted)
        return ticket.future

    @contextmanager
    def slot(self, env_id: int, caller: Caller | None = None) -> Iterator[None]:
        """Holds a slot for the block, waiting for it in turn.

        Raises:
            RunFailure: ``execution_timeout`` (details: ``queued``), the caller's deadline
                passed while the run waited; ``execution_cancelled``, the caller went away or
                the service is stopping.
        """
        ticket = _Ticket(env_id)
        self._limit_of(env_id)  # read (and cached) before the lock, which admission holds
        with self._lock:
            if self._closed:
                raise RunFailure("execution_cancelled", "the service is stopping")
            self._enqueue(ticket)
            admitted = self._admit()
        self._start(admitted)
        self._wait(ticket, caller)
        try:
            yield
        finally:
            self._release(env_id)

    def free_slot(self, env_id: int) -> AbstractContextManager[None] | None:
        """A slot taken now, held for the block, when one is free and no run waits for one
        (so that nobody is passed); None otherwise (then wait for one with ``slot``)."""
        self._limit_of(env_id)  # read (and cached) before the lock, which admission holds
        with self._lock:
            if self._closed or self._turns or self._held >= self._capacity:
                return None
            if self._holding.get(env_id, 0) >= max(self._limit_of(env_id), 1):
                return None
            self._holding[env_id] = self._holding.get(env_id, 0) + 1
            self._held += 1
        return self._holding_slot(env_id)

    @contextmanager
    def _holding_slot(self, env_id: int) -> Iterator[None]:
        try:
            yield
        finally:
            self._release(env_id)

    def holding(self, env_id: int) -> int:
        """How many slots the environment holds now."""
        with self._lock:
            return self._holding.get(env_id, 0)

    def waiting(self, env_id: int) -> int:
        """How many of the environment's runs wait for a slot."""
        with self._lock:
            return len(self._waiting.get(env_id, ()))

    def snapshot(self) -> tuple[dict[int, int], int, int]:
        """Runs waiting by environment (those with any), slots held, and slots in all."""
        with self._lock:
            waiting = {env_id: len(queue) for env_id, queue in self._waiting.items()}
            return waiting, self._held, self._capacity

    def close(self) -> list[futures.Future[None]]:
        """Stops admitting: queued background runs are abandoned, waiting callers refused.

        Returns the futures of the background runs still running.
        """
        with self._lock:
            self._closed = True
            dropped = [ticket for queue in self._waiting.values() for ticket in queue]
            self._waiting.clear()
            self._turns.clear()
        for ticket in dropped:
            if ticket.job is None:
                ticket.refused = "the service is stopping"
                ticket.wake.set()
            else:
                self._abandon(ticket)
        self._threads.shutdown(wait=False)
        with self._lock:
            return [ticket.future for ticket in self._running]

    def _wait(self, ticket: _Ticket, caller: Caller | None) -> None:
        if ticket.admitted:
            return  # a slot was free: the usual case
        gone = threading.Event()

        def ended() -> None:
            gone.set()
            ticket.wake.set()

        if caller is not None and not caller.add_callback(ended):
            ended()
        remaining = time_left(caller, NO_DEADLINE)
        limit = None if remaining is None or remaining >= NO_DEADLINE else remaining
        deadline = None if limit is None else time.monotonic() + limit
        while not ticket.wake.wait(_STEP_SECONDS):
            if deadline is not None and time.monotonic() >= deadline:
                break
        with self._lock:
            if not ticket.admitted and not ticket.refused:
                self._drop(ticket)
                if not gone.is_set():
                    raise RunFailure(
                        "execution_timeout",
                        "the caller's deadline passed while the run waited for a slot",
                        details={"queued": True},
                    )
                raise RunFailure("execution_cancelled", "the caller went away while the run waited")
        if ticket.refused:
            raise RunFailure("execution_cancelled", ticket.refused)

    def _enqueue(self, ticket: _Ticket) -> None:
        queue = self._waiting.setdefault(ticket.env_id, deque())
        if not queue:
            self._turns.append(ticket.env_id)
        queue.append(ticket)

    def _drop(self, ticket: _Ticket) -> None:
        queue = self._waiting.get(ticket.env_id)
        if queue is None or ticket not in queue:
            return
        queue.remove(ticket)
        if not queue:
            del self._waiting[ticket.env_id]
            self._turns.remove(ticket.env_id)

    def _admit(self) -> list[_Ticket]:
        """Hands free slots to waiting tickets, one environment per turn (under the lock)."""
        admitted: list[_Ticket] = []
        skipped = 0
        while self._turns and self._held < self._capacity and skipped < len(self._turns):
            env_id = self._turns[0]
            if self._holding.get(env_id, 0) >= max(self._limit_of(env_id), 1):
                self._turns.rotate(-1)  # at its limit: the next environment's turn
                skipped += 1
                continue
            queue = self._waiting[env_id]
            ticket = queue.popleft()
            self._turns.popleft()
            if queue:
                self._turns.append(env_id)
            else:
                del self._waiting[env_id]
            self._holding[env_id] = self._holding.get(env_id, 0) + 1
            self._held += 1
            ticket.admitted = True
            admitted.append(ticket)
            skipped = 0
        return admitted

    def _start(self, admitted: list[_Ticket]) -> None:
        for ticket in admitted:
            if ticket.job is None:
                ticket.wake.set()
                continue
            try:
                self._threads.submit(self._run, ticket)
            except RuntimeError:  # closed between admission and start
                self._release(ticket.env_id)
                self._abandon(ticket)

    def _run(self, ticket: _Ticket) -> None:
        with self._lock:
            self._running.add(ticket)
        try:
            if ticket.job is not None and ticket.future.set_running_or_notify_cancel():
                ticket.job()
                ticket.future.set_result(None)
        except BaseException as exc:
            _log.exception("background run failed", env_id=ticket.env_id)
            ticket.future.set_exception(exc)
        finally:
            with self._lock:
                self._running.discard(ticket)
            self._release(ticket.env_id)

    def _release(self, env_id: int) -> None:
        with self._lock:
            self._holding[env_id] -= 1
            if not self._holding[env_id]:
                del self._holding[env_id]
            self._held -= 1
            admitted = [] if self._closed else self._admit()
        self._start(admitted)

    @staticmethod
    def _abandon(ticket: _Ticket) -> None:
        try:
            if ticket.abandon is not None:
                ticket.abandon()
        except Exception:
            _log.exception("ending a queued run at shutdown failed", env_id=ticket.env_id)
        finally:
            ticket.future.cancel()


_STEP_SECONDS = 0.5
"""How often a waiting caller looks again whether its deadline passed."""
