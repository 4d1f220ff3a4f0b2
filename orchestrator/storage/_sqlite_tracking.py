"""The SQLite engine's deletion tracking (``track_deletes_start`` / ``track_deletes_end``).

There is no time window. ``start`` creates a tracking (one per connection, model and variant,
owned by the run) and stamps its id on every live record as ``delete_mark``; any save or update
of a record clears the mark, also when the content is unchanged. ``end`` soft-deletes the live
records that still carry the mark. A run that fails never calls ``end``, so nothing is deleted;
``abandon_tracking`` drops its marks. Tracking ids are never reused, so a mark left behind by an
old tracking never matches a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from corral.errors import InvalidRequest
from orchestrator.storage._areas import RecordCounts, RecordScope
from orchestrator.storage._sqlite_records import RecordWrites, scope_key

_DELETE_TRACKING = """
DELETE FROM delete_trackings WHERE connection_pk = ? AND model = ? AND variant = ?
"""
_INSERT_TRACKING = """
INSERT INTO delete_trackings (connection_pk, model, variant, run_id, started_at)
VALUES (?, ?, ?, ?, ?)
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
_SELECT_RUN_TRACKINGS = """
SELECT id, connection_pk, model, variant FROM delete_trackings WHERE run_id = ?
"""
_UNMARK_TRACKING = """
UPDATE records SET delete_mark = NULL
WHERE connection_pk = ? AND model = ? AND variant = ? AND delete_mark = ?
"""


class TrackingMixin(RecordWrites):
    """Deletion tracking of records: ``orchestrator.storage._areas.TrackingStore``."""

    def track_deletes_start(self, scope: RecordScope) -> None:
        """Starts deletion tracking of the scope's model and variant for the scope's run.

        A newer start for the same model and variant (by any run) replaces this tracking.
        """
        with self._write() as conn:
            key = scope_key(self._connection_pk(conn, scope.env_id, scope.connection_id), scope)
            conn.execute(_DELETE_TRACKING, key)
            cursor = conn.execute(_INSERT_TRACKING, (*key, scope.run_id, self._now()))
            conn.execute(_MARK_LIVE, (cursor.lastrowid, *key))

    def track_deletes_end(self, scope: RecordScope) -> RecordCounts:
        """Deletes the records that were live at the start and not saved or updated since.

        Raises:
            InvalidRequest: code ``track_deletes_not_started`` when this run has no tracking of
                this model and variant (never started, ended, abandoned, or replaced).
        """
        with self._write() as conn:
            pk = self._connection_pk(conn, scope.env_id, scope.connection_id)
            key = scope_key(pk, scope)
            row = conn.execute(_SELECT_TRACKING, (*key, scope.run_id)).fetchone()
            if row is None:
                raise InvalidRequest(
                    f"track_deletes_end({scope.model!r}) without track_deletes_start",
                    code="track_deletes_not_started",
                )
            ids = [str(found[0]) for found in conn.execute(_SELECT_MARKED, (*key, row[0]))]
            self._soft_delete(conn, pk, scope, ids)
            conn.execute("DELETE FROM delete_trackings WHERE id = ?", (row[0],))
        return RecordCounts(deleted=len(ids))

    def abandon_tracking(self, run_id: str) -> None:
        """Drops every deletion tracking of a run (one that failed); nothing is deleted."""
        with self._write() as conn:
            drop_run_trackings(conn, [run_id])


def drop_run_trackings(conn: sqlite3.Connection, run_ids: Sequence[str]) -> None:
    """Drops every deletion tracking of the runs and its marks, in the caller's transaction.

    Shared by ``abandon_tracking`` and ``RunsMixin.end_unfinished_runs``.
    """
    for run_id in run_ids:
        trackings = conn.execute(_SELECT_RUN_TRACKINGS, (run_id,)).fetchall()
        for tracking_id, connection_pk, model, variant in trackings:
            conn.execute(_UNMARK_TRACKING, (connection_pk, model, variant, tracking_id))
        conn.execute("DELETE FROM delete_trackings WHERE run_id = ?", (run_id,))
