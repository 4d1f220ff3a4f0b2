"""A running sync's progress for ``GetRun``: its records, counted in the store, and its
proxied requests, counted here.

The store counts the records each write of a run added, updated and deleted, in the write's
transaction (``orchestrator/storage/_run_counts.py``): whole whichever orchestrator served the
calls, read for the notification when the run ends. ``TallyInterceptor`` sits on the callback
server inside the run-token check and counts each proxied request a sync run makes as it goes
out (a page may be slow); ``RunTally.progress`` adds them to the stored counts while the run
goes on (``corral trigger sync`` draws them). Requests are counted by the orchestrator that
served them: with several on one database, another's ``GetRun`` shows only its own share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from corral._interceptors import Behaviour, CallWrapper
from orchestrator.callbacks._run_auth import current_scope

MAX_RUNS = 4096
"""Runs whose requests are counted at once at most; past it the oldest count is dropped (a run
whose calls this orchestrator served but another ran is never forgotten here otherwise)."""

REQUEST_CALLS = frozenset({"Proxy"})
"""The callback methods counted as the run's requests (a paginated sync makes one a page)."""

Counts = dict[str, int]
"""``{"added": n, "updated": n, "deleted": n}``."""


@dataclass(frozen=True)
class Progress:
    """A running sync's counts so far, all models together."""

    records_added: int = 0
    records_updated: int = 0
    records_deleted: int = 0
    requests: int = 0


class RunTally:
    """A running sync's proxied requests, in memory, beside its records in the store."""

    def __init__(self, record_counts: Callable[[str], Mapping[str, Counts]]) -> None:
        """Args: record_counts: a run's stored counts by model (the store's)."""
        self._record_counts = record_counts
        self._requests: dict[str, int] = {}
        self._lock = threading.Lock()

    def requested(self, run_id: str) -> None:
        """Counts one proxied request of the run."""
        with self._lock:
            if run_id not in self._requests and len(self._requests) >= MAX_RUNS:
                del self._requests[next(iter(self._requests))]
            self._requests[run_id] = self._requests.get(run_id, 0) + 1

    def progress(self, run_id: str) -> Progress:
        """The run's counts so far (records from the store, requests served here)."""
        counts = list(self.record_counts(run_id).values())
        with self._lock:
            requests = self._requests.get(run_id, 0)
        return Progress(
            sum(c["added"] for c in counts),
            sum(c["updated"] for c in counts),
            sum(c["deleted"] for c in counts),
            requests,
        )

    def record_counts(self, run_id: str) -> Mapping[str, Counts]:
        """The run's record counts by model, from the store (empty when it changed nothing)."""
        return self._record_counts(run_id)

    def ended(self, run_id: str) -> None:
        """Forgets the run's requests (it ended)."""
        with self._lock:
            self._requests.pop(run_id, None)


class TallyInterceptor(CallWrapper):
    """Counts the proxied requests of sync runs in a ``RunTally``."""

    def __init__(self, tally: RunTally) -> None:
        self._tally = tally

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        if method.rpartition("/")[2] not in REQUEST_CALLS:
            return behaviour

        def counted(request: Any, context: grpc.ServicerContext) -> Any:
            scope = current_scope()
            if scope.kind == "sync":  # made: counted as it goes out (a page may be slow)
                self._tally.requested(scope.run_id)
            return behaviour(request, context)

        return counted
