"""The PostgreSQL engine's deletion tracking (``track_deletes_start`` / ``track_deletes_end``).

The same semantics as ``_sqlite_tracking`` (read its docstring): a tracking stamps its id on
every live record, saves and updates clear the stamp, the end soft-deletes what still carries
it. Its writes change a scope's records, so they take the scope's lock (``lock_scope``) first;
dropping a run's trackings, which spans scopes, takes every scope's (``lock_records``).
"""

from __future__ import annotations

from corral.errors import InvalidRequest
from orchestrator.storage._areas import RecordCounts, RecordScope
from orchestrator.storage._pg_records import RecordWrites, lock_records, scope_key
from orchestrator.storage._pg_runs import drop_run_trackings

_DELETE_TRACKING = """
DELETE FROM delete_trackings WHERE connection_pk = %s AND model = %s AND variant = %s
"""
_INSERT_TRACKING = """
INSERT INTO delete_trackings (connection_pk, model, variant, run_id, started_at)
VALUES (%s, %s, %s, %s, %s) RETURNING id
"""
_MARK_LIVE = """
UPDATE records SET delete_mark = %s
WHERE connection_pk = %s AND model = %s AND variant = %s AND deleted_at IS NULL
"""
_SELECT_TRACKING = """
SELECT id FROM delete_trackings
WHERE connection_pk = %s AND model = %s AND variant = %s AND run_id = %s
"""
_SELECT_MARKED = """
SELECT record_id FROM records
WHERE connection_pk = %s AND model = %s AND variant = %s AND delete_mark = %s
    AND deleted_at IS NULL
ORDER BY id
"""


class TrackingMixin(RecordWrites):
    """Deletion tracking of records: ``orchestrator.storage._areas.TrackingStore``."""

    def track_deletes_start(self, scope: RecordScope) -> None:
        """Starts deletion tracking of the scope's model and variant for the scope's run.

        A newer start for the same model and variant (by any run) replaces this tracking.
        """
        with self._write() as conn:
            key = scope_key(self._locked_pk(conn, scope), scope)
            conn.execute(_DELETE_TRACKING, key)
            row = conn.execute(_INSERT_TRACKING, (*key, scope.run_id, self._now())).fetchone()
            if row is None:
                raise RuntimeError("the tracking insert returned no id")
            conn.execute(_MARK_LIVE, (row["id"], *key))

    def track_deletes_end(self, scope: RecordScope) -> RecordCounts:
        """Deletes the records that were live at the start and not saved or updated since.

        Raises:
            InvalidRequest: code ``track_deletes_not_started`` when this run has no tracking of
                this model and variant (never started, ended, abandoned, or replaced).
        """
        with self._write() as conn:
            pk = self._locked_pk(conn, scope)
            key = scope_key(pk, scope)
            row = conn.execute(_SELECT_TRACKING, (*key, scope.run_id)).fetchone()
            if row is None:
                raise InvalidRequest(
                    f"track_deletes_end({scope.model!r}) without track_deletes_start",
                    code="track_deletes_not_started",
                )
            ids = [
                str(found["record_id"])
                for found in conn.execute(_SELECT_MARKED, (*key, row["id"])).fetchall()
            ]
            self._soft_delete(conn, pk, scope, ids)
            conn.execute("DELETE FROM delete_trackings WHERE id = %s", (row["id"],))
        return RecordCounts(deleted=len(ids))

    def abandon_tracking(self, run_id: str) -> None:
        """Drops every deletion tracking of a run (one that failed); nothing is deleted."""
        with self._write() as conn:
            lock_records(conn)
            drop_run_trackings(conn, [run_id])
