"""Dry runs: a function's files run against a connection's real API, storing nothing.

A dry run's SDK calls that would write (records, deletions, metadata, checkpoints, logs) go to
its ``DrySession`` instead of the store; its log lines and, when asked, every proxied exchange
are streamed to the caller as they happen.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from corral._budgets import Budgets, RunMeter
from corral.errors import ResourceExhausted
from corral.v1 import callbacks_pb2
from corral.v1 import orchestrator_pb2 as pb
from orchestrator._proxy import ProxyResult

DRY_KIND = "dry"
"""The kind of a dry run's scope: it may do what a sync or an action may, in memory."""

MAX_EVENTS = 100_000
"""Events a session keeps for a caller that does not read them (then log lines are dropped)."""


class DrySession:
    """What one dry run did, in memory."""

    def __init__(self, metadata: Mapping[str, Any], checkpoint: Any, record: bool) -> None:
        self.metadata: dict[str, Any] = dict(metadata)
        self.checkpoint: Any = checkpoint
        self.checkpoint_version = 0
        self.record = record
        self.records: dict[str, list[Any]] = {}
        self.deleted: dict[str, list[Any]] = {}
        self.saved: dict[str, dict[str, Any]] = {}
        # None wakes the streaming reader when the run has ended (see ``wake``).
        self.events: queue.Queue[pb.DryRunEvent | None] = queue.Queue(MAX_EVENTS)
        self._seq = 0
        self._lock = threading.Lock()
        self._meter: RunMeter | None = None

    @property
    def failure(self) -> ResourceExhausted | None:
        """The per-run budget the dry run went past (it has failed), or None."""
        with self._lock:
            return None if self._meter is None else self._meter.failure

    def meter(self, budgets: Budgets) -> RunMeter:
        """The run's budgets, counted in memory (the budgets of its first call hold)."""
        with self._lock:
            if self._meter is None:
                self._meter = RunMeter(budgets)
            return self._meter

    def _emit(self, event: pb.DryRunEvent) -> None:
        # A caller that stopped reading loses log lines, never the result.
        with contextlib.suppress(queue.Full):
            self.events.put_nowait(event)

    def wake(self) -> None:
        """Wakes the reader of the events: the run has ended."""
        with contextlib.suppress(queue.Full):
            self.events.put_nowait(None)

    def log(self, level: str, message: str, meta_json: str, timestamp: str) -> None:
        """Streams a log line."""
        with self._lock:
            self._seq += 1
            line = pb.LogLine(
                seq=self._seq,
                level=level,
                message=message,
                meta_json=meta_json,
                timestamp=timestamp,
            )
        self._emit(pb.DryRunEvent(log=line))

    def exchange(self, request: callbacks_pb2.ProxyRequest, result: ProxyResult) -> None:
        """Streams a proxied request with its response, when the caller records them."""
        if not self.record:
            return
        headers: dict[str, Any] = {}
        for name, value in result.headers:
            headers[name.lower()] = (
                f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
            )
        recorded = pb.RecordedExchange(
            method=request.method,
            endpoint=request.endpoint,
            params_json=request.params_json.decode() if request.params_json else "",
            headers_json=json.dumps({h.name: h.value for h in request.headers}),
            data=request.data,
            has_data=request.has_data,
            data_is_json=request.data_is_json,
            status=result.status,
            response_headers_json=json.dumps(headers),
            response_body=result.body,
        )
        self._emit(pb.DryRunEvent(exchange=recorded))

    def save(self, model: str, records: Sequence[bytes]) -> int:
        """Keeps saved records (as the function gave them), in call order."""
        with self._lock:
            for raw in records:
                record = json.loads(raw)
                self.records.setdefault(model, []).append(record)
                self.saved.setdefault(model, {})[str(record.get("id"))] = record
        return len(records)

    def delete(self, model: str, ids: Sequence[str]) -> int:
        """Keeps deleted ids, in call order."""
        with self._lock:
            self.deleted.setdefault(model, []).extend({"id": i} for i in ids)
            for rid in ids:
                self.saved.get(model, {}).pop(rid, None)
        return len(ids)

    def by_id(self, model: str, ids: Sequence[str]) -> dict[str, Any]:
        """Records saved earlier in this run."""
        with self._lock:
            saved = self.saved.get(model, {})
            return {i: saved[i] for i in ids if i in saved}


class DrySessions:
    """The dry runs in progress, by run id."""

    def __init__(self) -> None:
        self._sessions: dict[str, DrySession] = {}
        self._lock = threading.Lock()

    def open(self, run_id: str, session: DrySession) -> None:
        """Registers a run's session."""
        with self._lock:
            self._sessions[run_id] = session

    def get(self, run_id: str) -> DrySession | None:
        """The session of a dry run, or None for a real run."""
        with self._lock:
            return self._sessions.get(run_id)

    def close(self, run_id: str) -> None:
        """Forgets a finished run's session."""
        with self._lock:
            self._sessions.pop(run_id, None)
