"""The SQLite engine's sync schedules: when each sync runs for each connection."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from corral.errors import InvalidRequest, NotFound
from orchestrator.storage._areas import SCHEDULE_STATES, Schedule
from orchestrator.storage._records import to_rfc3339
from orchestrator.storage._sqlite_base import SqliteBase, timestamp

_SELECT = """
SELECT s.id, c.env_id, c.connection_id, s.sync_name, s.variant, s.state, s.frequency_seconds,
       s.next_run_at, s.last_run_id
FROM sync_schedules s JOIN connections c ON c.id = s.connection_pk
"""

# Due, running, and not already running: the last run it started (if any) has finished.
_DUE = """
SELECT s.id, c.env_id, c.connection_id, s.sync_name, s.variant, s.state, s.frequency_seconds,
       s.next_run_at, s.last_run_id
FROM sync_schedules s JOIN connections c ON c.id = s.connection_pk
WHERE s.state = 'running' AND s.next_run_at <= ?
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = s.last_run_id
                  AND r.state IN ('queued', 'running'))
ORDER BY s.next_run_at LIMIT ?
"""


def _schedule(row: sqlite3.Row | tuple[object, ...]) -> Schedule:
    next_run_at = timestamp(str(row[7]))
    assert next_run_at is not None  # noqa: S101 - the column is NOT NULL
    return Schedule(
        schedule_id=int(str(row[0])),
        env_id=int(str(row[1])),
        connection_id=str(row[2]),
        sync_name=str(row[3]),
        variant=str(row[4]),
        state=str(row[5]),
        frequency_seconds=float(str(row[6])),
        next_run_at=next_run_at,
        last_run_id=None if row[8] is None else str(row[8]),
    )


class SchedulesMixin(SqliteBase):
    """Sync schedules per (connection, sync, variant): ``ScheduleStore``."""

    def ensure_schedule(
        self,
        env_id: int,
        connection_id: str,
        sync_name: str,
        variant: str,
        *,
        frequency_seconds: float,
        state: str,
    ) -> Schedule:
        """Creates the schedule if it is missing (due now), else updates its interval only."""
        _check_state(state)
        with self._write() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            conn.execute(
                "INSERT INTO sync_schedules (connection_pk, sync_name, variant, state,"
                " frequency_seconds, next_run_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (connection_pk, sync_name, variant)"
                " DO UPDATE SET frequency_seconds = excluded.frequency_seconds",
                (pk, sync_name, variant, state, frequency_seconds, self._now()),
            )
            return self._one(conn, pk, sync_name, variant)

    def set_schedule_state(
        self, env_id: int, connection_id: str, sync_name: str, variant: str, state: str
    ) -> Schedule:
        """Pauses or starts a schedule; a started one is due at once.

        Raises:
            NotFound: code ``unknown_schedule``.
        """
        _check_state(state)
        with self._write() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            self._one(conn, pk, sync_name, variant)
            conn.execute(
                "UPDATE sync_schedules SET state = ?, next_run_at ="
                " CASE WHEN ? = 'running' AND state = 'paused' THEN ? ELSE next_run_at END"
                " WHERE connection_pk = ? AND sync_name = ? AND variant = ?",
                (state, state, self._now(), pk, sync_name, variant),
            )
            return self._one(conn, pk, sync_name, variant)

    def list_schedules(self, env_id: int, connection_id: str | None = None) -> list[Schedule]:
        """The environment's schedules (of one connection, if given)."""
        with self._read() as conn:
            if connection_id is None:
                rows = conn.execute(_SELECT + " WHERE c.env_id = ? ORDER BY s.id", (env_id,))
            else:
                rows = conn.execute(
                    _SELECT + " WHERE c.env_id = ? AND c.connection_id = ? ORDER BY s.id",
                    (env_id, connection_id),
                )
            return [_schedule(row) for row in rows.fetchall()]

    def claim_due_schedules(self, now: datetime, limit: int = 100) -> list[Schedule]:
        """The schedules due at ``now`` whose last run has ended; each is moved to its next
        due time in the same transaction, so no two callers claim the same one."""
        with self._write() as conn:
            due = [
                _schedule(row) for row in conn.execute(_DUE, (to_rfc3339(now), limit)).fetchall()
            ]
            conn.executemany(
                "UPDATE sync_schedules SET next_run_at = ? WHERE id = ?",
                [
                    (to_rfc3339(now + timedelta(seconds=s.frequency_seconds)), s.schedule_id)
                    for s in due
                ],
            )
        return due

    def set_schedule_last_run(self, schedule_id: int, run_id: str) -> None:
        """Records the run a schedule started."""
        with self._write() as conn:
            conn.execute(
                "UPDATE sync_schedules SET last_run_id = ? WHERE id = ?", (run_id, schedule_id)
            )

    def remove_schedules(self, env_id: int, integration_key: str, keep: frozenset[str]) -> None:
        """Removes the integration's schedules of syncs not in ``keep`` (after a deploy)."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM sync_schedules WHERE connection_pk IN (SELECT c.id FROM connections c"
                " JOIN integrations i ON i.id = c.integration_id WHERE c.env_id = ? AND"
                " i.unique_key = ?) AND sync_name NOT IN (SELECT value FROM json_each(?))",
                (env_id, integration_key, _json_list(keep)),
            )

    def _one(self, conn: sqlite3.Connection, pk: int, sync_name: str, variant: str) -> Schedule:
        row = conn.execute(
            _SELECT + " WHERE s.connection_pk = ? AND s.sync_name = ? AND s.variant = ?",
            (pk, sync_name, variant),
        ).fetchone()
        if row is None:
            raise NotFound(
                f"sync {sync_name!r} has no schedule for this connection", code="unknown_schedule"
            )
        return _schedule(row)


def _check_state(state: str) -> None:
    if state not in SCHEDULE_STATES:
        raise InvalidRequest(f"a schedule is {' or '.join(sorted(SCHEDULE_STATES))}")


def _json_list(values: frozenset[str]) -> str:
    import json  # noqa: PLC0415

    return json.dumps(sorted(values))
