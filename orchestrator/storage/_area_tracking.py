"""Deletion tracking of records for every engine (``track_deletes_start`` / ``_end``).

There is no time window. ``start`` creates a tracking (one per connection, model and variant,
owned by the run) and stamps its id on every live record as ``delete_mark``; any save or update
of a record clears the mark, also when the content is unchanged. ``end`` soft-deletes the live
records that still carry the mark. A run that fails never calls ``end``, so nothing is deleted;
``abandon_tracking`` drops its marks. Tracking ids are never reused, so a mark left behind by an
old tracking never matches a new one.

``TrackingArea`` implements ``orchestrator.storage._areas.TrackingStore`` once, over the record
writes of an engine's ``RecordWrites`` (its scope locks, soft deletes and change cursors).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from corral.errors import InvalidRequest
from orchestrator.storage._area_records import check_model, scope_key
from orchestrator.storage._engine import C
from orchestrator.storage._rows import returned
from orchestrator.storage._run_counts import RunCounting
from orchestrator.storage._types import RecordCounts, RecordScope

_DELETE_TRACKING = """
DELETE FROM delete_trackings WHERE connection_pk = ? AND model = ? AND variant = ?
"""
_INSERT_TRACKING = """
INSERT INTO delete_trackings (connection_pk, model, variant, run_id, started_at)
VALUES (?, ?, ?, ?, ?) RETURNING id
"""
_MARK_LIVE = """
UPDATE records SET delete_mark = ?
WHERE connection_pk = ? AND model = ? AND variant = ? AND deleted_at IS NULL
"""
_SELECT_TRACKING = """
SELECT id FROM delete_trackings
WHERE connection_pk = ? AND model = ? AND variant = ? AND run_id = ?
"""
_SELECT_MARKED = """
SELECT record_id FROM records
WHERE connection_pk = ? AND model = ? AND variant = ? AND delete_mark = ? AND deleted_at IS NULL
"""


class TrackingArea(RunCounting[C]):
    """Deletion tracking of records: ``orchestrator.storage._areas.TrackingStore``."""

    _marked_order: ClassVar[str] = ""
    """What orders the marked records that an end deletes (and so their new cursors)."""

    def track_deletes_start(self, scope: RecordScope) -> None:
        """Starts deletion tracking of the scope's model and variant for the scope's run.

        A newer start for the same model and variant (by any run) replaces this tracking.

        Raises:
            InvalidRequest: ``invalid_sync_record``, the model holds NUL.
        """
        check_model(scope)
        with self._write() as conn:
            key = scope_key(self._scope_pk(conn, scope), scope)
            self._exec(conn, _DELETE_TRACKING, key)
            row = self._fetch_one(conn, _INSERT_TRACKING, (*key, scope.run_id, self._now()))
            self._exec(conn, _MARK_LIVE, (returned(row)["id"], *key))

    def track_deletes_end(self, scope: RecordScope) -> RecordCounts:
        """Deletes the records that were live at the start and not saved or updated since.

        Raises:
            InvalidRequest: code ``track_deletes_not_started`` when this run has no tracking of
                this model and variant (never started, ended, abandoned, or replaced);
                ``invalid_sync_record``, the model holds NUL.
        """
        check_model(scope)
        with self._write() as conn:
            pk = self._scope_pk(conn, scope)
            key = scope_key(pk, scope)
            row = self._fetch_one(conn, _SELECT_TRACKING, (*key, scope.run_id))
            if row is None:
                raise InvalidRequest(
                    f"track_deletes_end({scope.model!r}) without track_deletes_start",
                    code="track_deletes_not_started",
                )
            marked = self._fetch_all(conn, _SELECT_MARKED + self._marked_order, (*key, row["id"]))
            ids = [str(found["record_id"]) for found in marked]
            self._soft_delete(conn, pk, scope, ids)
            self._exec(conn, "DELETE FROM delete_trackings WHERE id = ?", (row["id"],))
            return self._count_run(conn, scope, RecordCounts(deleted=len(ids)))

    def abandon_tracking(self, run_id: str) -> None:
        """Drops every deletion tracking of a run (one that failed); nothing is deleted."""
        with self._write() as conn:
            self._lock_all_records(conn)
            self._drop_run_trackings(conn, [run_id])

    # ---- the engine's record writes (``RecordWrites``) ----

    @abstractmethod
    def _scope_pk(self, conn: C, scope: RecordScope) -> int:
        """The scope's connection pk, the scope locked for writing (NotFound
        ``unknown_connection``)."""

    @abstractmethod
    def _soft_delete(self, conn: C, pk: int, scope: RecordScope, ids: list[str]) -> None:
        """Soft-deletes ``ids``, each with a new cursor."""

    @abstractmethod
    def _lock_all_records(self, conn: C) -> None:
        """Where the engine locks record scopes: makes the transaction the one record writer
        of every scope."""

    @abstractmethod
    def _drop_run_trackings(self, conn: C, run_ids: Sequence[str]) -> None:
        """Drops every deletion tracking of the runs and its marks."""
