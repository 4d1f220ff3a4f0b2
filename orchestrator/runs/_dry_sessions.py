"""Dry runs: a function's files run against a connection's real API, storing nothing.

A dry run's SDK calls are served by the production callback service, which keeps what they write
(records, deletions, metadata, checkpoints, logs) in the run's scratch store
(``orchestrator.callbacks._scratch``: the production SQLite code on a temporary database, seeded
with the connection's metadata and the given checkpoint) instead of the real one; so they mean what
they mean in production. The session also streams the run's log lines and, when asked, every proxied
exchange to the caller as they happen, and keeps what the function passed to ``batch_save`` and
``batch_delete`` (the calls the store accepted), in call order."""

from __future__ import annotations

import contextlib
import json
import pathlib
import queue
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from corral._budgets import Budgets
from corral.errors import PermissionDenied, ResourceExhausted
from corral.v1 import callbacks_pb2
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.callbacks._scratch import ScratchSeed, ScratchStore
from orchestrator.proxy._proxy import ProxyResult
from orchestrator.storage._areas import LogLine

DRY_KIND = "dry"
"""The kind of a dry run's scope: it may do what a sync or an action may, in a scratch store."""

MAX_EVENTS = 100_000
"""Events a session keeps for a caller that does not read them (then log lines are dropped)."""


class DrySession:
    """What one dry run did: its scratch store, its events and the records it passed."""

    def __init__(
        self,
        metadata: Mapping[str, Any],
        checkpoint: Any,
        record: bool,
        scratch_dir: pathlib.Path | None = None,
    ) -> None:
        """``scratch_dir``: where its scratch store goes (see ``ScratchStore``)."""
        self._scratch_dir = scratch_dir
        self._seed_metadata: dict[str, Any] = dict(metadata)
        self._seed_checkpoint: Any = checkpoint
        self.record = record
        self.records: dict[str, list[Any]] = {}
        self.deleted: dict[str, list[Any]] = {}
        # None wakes the streaming reader when the run has ended (see ``wake``).
        self.events: queue.Queue[pb.DryRunEvent | None] = queue.Queue(MAX_EVENTS)
        self._seq = 0
        self._streamed = 0
        self._lock = threading.Lock()
        self._scratch: ScratchStore | None = None
        self._closed = False

    def scratch(self, budgets: Budgets) -> ScratchStore:
        """The run's scratch store, made on its first call (its budgets then hold).

        Raises:
            PermissionDenied: the session is closed (``run_ended``).
        """
        with self._lock:
            if self._closed:
                raise PermissionDenied("the dry run has ended", code="run_ended")
            if self._scratch is None:
                seed = ScratchSeed(
                    metadata=self._seed_metadata, checkpoint=self._seed_checkpoint, budgets=budgets
                )
                self._scratch = ScratchStore(seed, self._scratch_dir)
            return self._scratch

    @property
    def metadata(self) -> dict[str, Any]:
        """The connection's metadata as the run left it."""
        with self._lock:
            scratch = self._scratch
        if scratch is None:
            return dict(self._seed_metadata)
        scope = scratch.scope
        return scratch.storage.get_metadata(scope.env_id, scope.connection_id)

    @property
    def failure(self) -> ResourceExhausted | None:
        """The per-run budget the dry run went past (it has failed), or None."""
        with self._lock:
            scratch = self._scratch
        run = None if scratch is None else scratch.run()
        if run is None or run.state != "failed" or not run.error:
            return None
        details = run.error.get("details") or {}
        return ResourceExhausted(
            str(run.error.get("message") or ""),
            code=str(run.error.get("type") or "resource_exhausted"),
            details=details if isinstance(details, dict) else {},
        )

    def close(self) -> None:
        """Deletes the scratch store."""
        with self._lock:
            scratch, self._scratch, self._closed = self._scratch, None, True
        if scratch is not None:
            scratch.close()

    def _emit(self, event: pb.DryRunEvent) -> None:
        # A caller that stopped reading loses log lines, never the result.
        with contextlib.suppress(queue.Full):
            self.events.put_nowait(event)

    def wake(self) -> None:
        """Wakes the reader of the events: the run has ended."""
        with contextlib.suppress(queue.Full):
            self.events.put_nowait(None)

    def stream_logs(self) -> None:
        """Streams the log lines the store kept since the last call (never the store's note of
        dropped lines: once one is dropped, no later line is kept)."""
        with self._lock:
            scratch = self._scratch
            if scratch is None:
                return
            run = scratch.run()
            lines = scratch.storage.get_logs(run.env_id, run.run_id, after_seq=self._streamed)
            if run.logs_dropped:
                lines = lines[:-1]
                self._streamed = 2**62
            elif lines:
                self._streamed = lines[-1].seq
        for line in lines:
            self.log(line)

    def log(self, line: LogLine) -> None:
        """Streams a log line."""
        with self._lock:
            self._seq += 1
            event = pb.LogLine(
                seq=self._seq,
                level=line.level,
                message=line.message,
                meta_json=line.meta_json,
                timestamp=line.timestamp.isoformat() if line.timestamp else "",
            )
        self._emit(pb.DryRunEvent(log=event))

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

    def saved(self, model: str, records: Sequence[bytes]) -> None:
        """Keeps records the function saved, as it gave them, in call order."""
        with self._lock:
            self.records.setdefault(model, []).extend(json.loads(raw) for raw in records)

    def deleted_ids(self, model: str, ids: Sequence[str]) -> None:
        """Keeps the ids the function deleted, in call order."""
        with self._lock:
            self.deleted.setdefault(model, []).extend({"id": i} for i in ids)


class DrySessions:
    """The dry runs in progress, by run id."""

    def __init__(self, scratch_dir: pathlib.Path | None = None) -> None:
        """``scratch_dir``: where the sessions' scratch stores go (see ``ScratchStore``)."""
        self.scratch_dir = scratch_dir
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
        """Forgets a finished run's session and deletes its scratch store."""
        with self._lock:
            session = self._sessions.pop(run_id, None)
        if session is not None:
            session.close()
