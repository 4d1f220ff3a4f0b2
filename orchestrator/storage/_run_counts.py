"""Records added, updated and deleted per run and model, kept in the store.

Each record write adds what it changed to its run's counts in the transaction that changes the
records (``run_record_counts``), so the counts are whole whichever orchestrator of a database
served the run's calls, and never count a write that did not commit. A write that changed
nothing (an unchanged batch) adds no statement. A run counts ``MAX_MODELS`` models at most;
its counts are deleted with it.
"""

from __future__ import annotations

from orchestrator.storage._engine import C, EngineBase
from orchestrator.storage._types import RecordCounts, RecordScope

MAX_MODELS = 256
"""Models counted per run at most (a function may name any model; more are not counted)."""

_ADD = """
INSERT INTO run_record_counts (run_pk, model, added, updated, deleted)
SELECT r.id, ?, ?, ?, ? FROM runs AS r
WHERE r.run_id = ? AND (
    EXISTS (SELECT 1 FROM run_record_counts AS c WHERE c.run_pk = r.id AND c.model = ?)
    OR (SELECT count(*) FROM run_record_counts AS c WHERE c.run_pk = r.id) < ?)
ON CONFLICT (run_pk, model) DO UPDATE SET
    added = run_record_counts.added + excluded.added,
    updated = run_record_counts.updated + excluded.updated,
    deleted = run_record_counts.deleted + excluded.deleted
"""
SELECT_COUNTS = """
SELECT c.model, c.added, c.updated, c.deleted
FROM run_record_counts AS c JOIN runs AS r ON r.id = c.run_pk
WHERE r.run_id = ? ORDER BY c.model
"""
"""A run's counts by model (``RecordStore.record_counts``, in ``_area_records``)."""


class RunCounting(EngineBase[C]):
    """What every area that writes records adds to its run's counts with."""

    def _count_run(self, conn: C, scope: RecordScope, counts: RecordCounts) -> RecordCounts:
        """Adds a write's counts to its run's, in the write's transaction; returns them."""
        if scope.run_id and (counts.added or counts.updated or counts.deleted):
            self._exec(
                conn,
                _ADD,
                (
                    scope.model,
                    counts.added,
                    counts.updated,
                    counts.deleted,
                    scope.run_id,
                    scope.model,
                    MAX_MODELS,
                ),
            )
        return counts
