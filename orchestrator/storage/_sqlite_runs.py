"""The SQLite engine's runs and run logs.

The semantics are ``_area_runs``'s; SQLite's single writer keeps every read-then-write whole.
"""

from __future__ import annotations

import sqlite3

from orchestrator.storage._area_runs import RunsArea
from orchestrator.storage._sqlite_records import RecordWrites

UNFINISHED_RUNS_QUERY = "SELECT run_id FROM runs WHERE state IN ('queued', 'running') ORDER BY id"
"""The runs a previous process left unfinished (the partial index ``runs_unfinished``)."""
END_UNFINISHED_RUNS_QUERY = (
    "UPDATE runs SET state = 'failed', error = ?, finished_at = ?"
    " WHERE state IN ('queued', 'running')"
)
"""Ends them (the same index)."""


class RunsMixin(RecordWrites, RunsArea[sqlite3.Connection]):
    """Runs and their logs: ``orchestrator.storage._areas.RunStore``."""

    def _end_unfinished(self, conn: sqlite3.Connection, error: object) -> list[str]:
        ids = [str(row[0]) for row in conn.execute(UNFINISHED_RUNS_QUERY)]
        self._drop_run_trackings(conn, ids)
        conn.execute(END_UNFINISHED_RUNS_QUERY, (error, self._now()))
        return ids
