"""The PostgreSQL engine's runs and run logs.

The semantics are ``_area_runs``'s; runs' deletion tracking is dropped by ``RecordWrites``
under the record writers' lock (``lock_records``).
"""

from __future__ import annotations

from orchestrator.storage._area_runs import RunsArea, oldest_first
from orchestrator.storage._pg_base import PgConnection
from orchestrator.storage._pg_records import RecordWrites


class RunsMixin(RecordWrites, RunsArea[PgConnection]):
    """Runs and their logs: ``orchestrator.storage._areas.RunStore``."""

    def _end_unfinished(self, conn: PgConnection, error: object) -> list[str]:
        rows = conn.execute(
            "UPDATE runs SET state = 'failed', error = %s, finished_at = %s"
            " WHERE state IN ('queued', 'running') RETURNING id, run_id",
            (error, self._now()),
        ).fetchall()
        ids = oldest_first(list(rows))
        self._drop_run_trackings(conn, ids)
        return ids
