"""Records added, updated and deleted per model by each sync run, for its notification, and
the run's progress so far (with its proxied requests) for ``GetRun``.

``TallyInterceptor`` sits on the callback server inside the run-token interceptor: it sees
each record call's answer (``RecordBatchResult``) with the run's scope, and adds its counts to
the run's tally, and counts each proxied request it makes; ``RunTally.progress``
reads them while the run goes on (``corral trigger sync`` draws them); ``RunTally.pop`` hands
them over when the run ends. Counts are of the calls
this orchestrator served (with several orchestrators on one database, a run's calls may land
on another: its notification then counts only this one's share).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from corral._interceptors import Behaviour, CallWrapper
from orchestrator.callbacks._run_auth import current_scope

MAX_MODELS = 256
"""Models counted per run at most (a run names its models; more are not counted)."""

MAX_RUNS = 4096
"""Runs tallied at once at most; past it the oldest tally is dropped (a run whose calls this
orchestrator served but another ran is never popped here)."""

RECORD_CALLS = frozenset({"BatchSave", "BatchDelete", "BatchUpdate", "TrackDeletesEnd"})
"""The callback methods whose answers are record counts."""
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
    """Counts per run and model, in memory, until the run ends."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, Counts]] = {}
        self._requests: dict[str, int] = {}
        self._lock = threading.Lock()

    def requested(self, run_id: str) -> None:
        """Counts one proxied request of the run."""
        with self._lock:
            if run_id not in self._requests and len(self._requests) >= MAX_RUNS:
                del self._requests[next(iter(self._requests))]
            self._requests[run_id] = self._requests.get(run_id, 0) + 1

    def progress(self, run_id: str) -> Progress | None:
        """The run's counts so far, or None when nothing of it is counted here."""
        with self._lock:
            models = self._runs.get(run_id)
            requests = self._requests.get(run_id)
            if models is None and requests is None:
                return None
            counts = list((models or {}).values())
            return Progress(
                sum(c["added"] for c in counts),
                sum(c["updated"] for c in counts),
                sum(c["deleted"] for c in counts),
                requests or 0,
            )

    def add(self, run_id: str, model: str, added: int, updated: int, deleted: int) -> None:
        """Adds one call's counts to the run's tally."""
        with self._lock:
            if run_id not in self._runs and len(self._runs) >= MAX_RUNS:
                del self._runs[next(iter(self._runs))]
            models = self._runs.setdefault(run_id, {})
            if model not in models and len(models) >= MAX_MODELS:
                return
            counts = models.setdefault(model, {"added": 0, "updated": 0, "deleted": 0})
            counts["added"] += added
            counts["updated"] += updated
            counts["deleted"] += deleted

    def pop(self, run_id: str) -> Mapping[str, Counts]:
        """The run's counts by model (empty when it changed nothing), forgotten here."""
        with self._lock:
            self._requests.pop(run_id, None)
            return self._runs.pop(run_id, {})


class TallyInterceptor(CallWrapper):
    """Adds the record counts of sync runs' calls to a ``RunTally``."""

    def __init__(self, tally: RunTally) -> None:
        self._tally = tally

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        name = method.rpartition("/")[2]
        if name in REQUEST_CALLS:
            return self._requests(behaviour)
        if name not in RECORD_CALLS:
            return behaviour

        def counted(request: Any, context: grpc.ServicerContext) -> Any:
            answer = behaviour(request, context)
            scope = current_scope()
            if scope.kind == "sync" and answer is not None:
                self._tally.add(
                    scope.run_id, request.model, answer.added, answer.updated, answer.deleted
                )
            return answer

        return counted

    def _requests(self, behaviour: Behaviour) -> Behaviour:
        def counted(request: Any, context: grpc.ServicerContext) -> Any:
            scope = current_scope()
            if scope.kind == "sync":  # made: counted as it goes out (a page may be slow)
                self._tally.requested(scope.run_id)
            return behaviour(request, context)

        return counted
