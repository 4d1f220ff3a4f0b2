"""The PostgreSQL engine's fleet of runners: ``RunnerRegistry``, shared by every orchestrator.

A heartbeat is one upsert; runners not heard from for ``FORGET_AFTER`` are
deleted by the next heartbeat of any runner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orchestrator.storage._pg_base import PostgresBase, jsonb
from orchestrator.storage._types import RunnerRecord

FORGET_AFTER = timedelta(hours=1)
"""A runner silent this long is removed from the table (``ListRunners`` no longer shows it)."""


class RunnersMixin(PostgresBase):
    """Runner records by runner id: ``RunnerRegistry``."""

    def runner_heartbeat(self, record: RunnerRecord) -> None:
        """Stores a runner's heartbeat (the first one registers it)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO fleet_runners (runner_id, address, slots, runs_in_progress,"
                " idle_workers, layers_applied, layers_missing, draining, version,"
                " last_heartbeat) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (runner_id) DO UPDATE SET address = excluded.address,"
                " slots = excluded.slots, runs_in_progress = excluded.runs_in_progress,"
                " idle_workers = excluded.idle_workers,"
                " layers_applied = excluded.layers_applied,"
                " layers_missing = excluded.layers_missing, draining = excluded.draining,"
                " version = excluded.version, last_heartbeat = excluded.last_heartbeat",
                (
                    *(record.runner_id, record.address, record.slots, record.runs_in_progress),
                    *(record.idle_workers, jsonb(list(record.layers_applied))),
                    *(jsonb(dict(record.layers_missing)), record.draining, record.version),
                    record.last_heartbeat,
                ),
            )
            conn.execute(
                "DELETE FROM fleet_runners WHERE last_heartbeat < %s",
                (record.last_heartbeat - FORGET_AFTER,),
            )

    def list_fleet_runners(self, heard_since: datetime) -> list[RunnerRecord]:
        """The runners heard from at ``heard_since`` or later, by address."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM fleet_runners WHERE last_heartbeat >= %s"
                " ORDER BY address, runner_id",
                (heard_since,),
            ).fetchall()
        return [_record(row) for row in rows]


def _record(row: Any) -> RunnerRecord:
    return RunnerRecord(
        runner_id=str(row["runner_id"]),
        address=str(row["address"]),
        slots=int(row["slots"]),
        runs_in_progress=int(row["runs_in_progress"]),
        idle_workers=int(row["idle_workers"]),
        layers_applied=tuple(row["layers_applied"]),
        layers_missing=dict(row["layers_missing"]),
        draining=bool(row["draining"]),
        version=str(row["version"]),
        last_heartbeat=row["last_heartbeat"],
    )
