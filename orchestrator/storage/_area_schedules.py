"""Sync schedules for every engine: when each sync runs for each connection.

``SchedulesArea`` implements ``orchestrator.storage._areas.ScheduleStore`` once. A claim moves
the due schedules it takes to their next due time in the same transaction, so no two callers
claim the same one: SQLite's single writer makes that so, PostgreSQL's ``FOR UPDATE SKIP
LOCKED`` (``_due_lock``) lets callers claiming at once, in one orchestrator or several, each
take different schedules.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from corral._frequency import bounded_seconds
from corral.errors import InvalidRequest, NotFound
from orchestrator._text_values import names_hold_nul
from orchestrator.storage._engine import C, EngineBase
from orchestrator.storage._rows import schedule
from orchestrator.storage._types import SCHEDULE_STATES, Schedule

# The interval in force is the connection's own, if set, else the sync's.
_SELECT = """
SELECT s.id, c.env_id, c.connection_id, s.sync_name, s.variant, s.state,
       COALESCE(s.frequency_override_seconds, s.frequency_seconds) AS frequency_seconds,
       s.frequency_override_seconds, s.next_run_at, s.last_run_id
FROM sync_schedules s JOIN connections c ON c.id = s.connection_pk
"""

# Due, running, and not already running: the last run it started (if any) has finished.
_DUE = """
SELECT s.id, c.env_id, c.connection_id, s.sync_name, s.variant, s.state,
       COALESCE(s.frequency_override_seconds, s.frequency_seconds) AS frequency_seconds,
       s.frequency_override_seconds, s.next_run_at, s.last_run_id
FROM sync_schedules s JOIN connections c ON c.id = s.connection_pk
WHERE s.state = 'running' AND s.next_run_at <= ?
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = s.last_run_id
                  AND r.state IN ('queued', 'running'))
ORDER BY s.next_run_at LIMIT ?
"""
_REMOVE = """
DELETE FROM sync_schedules WHERE connection_pk IN (
    SELECT c.id FROM connections c JOIN integrations i ON i.id = c.integration_id
    WHERE c.env_id = ? AND i.unique_key = ?
) AND sync_name """


class SchedulesArea(EngineBase[C]):
    """Sync schedules per (connection, sync, variant): ``ScheduleStore``."""

    _due_lock: ClassVar[str] = ""
    """What ends the claim's SELECT of due schedules: a lock that skips rows others claim."""

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
            self._exec(
                conn,
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
            if names_hold_nul(sync_name, variant):
                raise _unknown(sync_name)
            updated = self._exec(
                conn,
                "UPDATE sync_schedules SET state = ?, next_run_at = CASE"
                " WHEN CAST(? AS TEXT) = 'running' AND state = 'paused' THEN ? ELSE next_run_at END"
                " WHERE connection_pk = ? AND sync_name = ? AND variant = ?",
                (state, state, self._now(), pk, sync_name, variant),
            )
            if updated == 0:
                raise _unknown(sync_name)
            return self._one(conn, pk, sync_name, variant)

    def set_frequency_override(
        self,
        env_id: int,
        connection_id: str,
        sync_name: str,
        variant: str,
        frequency_seconds: float | None,
    ) -> Schedule:
        """Sets the connection's own interval for this schedule, or clears it (None: the sync's
        applies again). Deploys keep it. The schedule is due no later than one new interval
        from now, so a shorter interval applies without waiting out the old one.

        Raises:
            NotFound: code ``unknown_schedule``.
        """
        with self._write() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            if names_hold_nul(sync_name, variant):
                raise _unknown(sync_name)
            key = (pk, sync_name, variant)
            own = self._fetch_one(
                conn,
                "SELECT frequency_seconds FROM sync_schedules"
                " WHERE connection_pk = ? AND sync_name = ? AND variant = ?",
                key,
            )
            if own is None:
                raise _unknown(sync_name)
            interval = float(
                own["frequency_seconds"] if frequency_seconds is None else frequency_seconds
            )
            bound = self._stamp_in(_next_due(self._clock(), interval))
            self._exec(
                conn,
                "UPDATE sync_schedules SET frequency_override_seconds = ?, next_run_at ="
                " CASE WHEN next_run_at > ? THEN ? ELSE next_run_at END"
                " WHERE connection_pk = ? AND sync_name = ? AND variant = ?",
                (frequency_seconds, bound, bound, *key),
            )
            return self._one(conn, *key)

    def list_schedules(self, env_id: int, connection_id: str | None = None) -> list[Schedule]:
        """The environment's schedules (of one connection, if given)."""
        if names_hold_nul(connection_id):
            return []
        with self._read() as conn:
            rows = self._fetch_all(
                conn,
                _SELECT + " WHERE c.env_id = ?"
                " AND (CAST(? AS TEXT) IS NULL OR c.connection_id = ?) ORDER BY s.id",
                (env_id, connection_id, connection_id),
            )
        return [schedule(row, self._codec) for row in rows]

    def claim_due_schedules(self, now: datetime, limit: int = 100) -> list[Schedule]:
        """The schedules due at ``now`` whose last run has ended; each is moved to its next
        due time in the same transaction, so no two callers claim the same one (an interval
        out of range counts as the nearest bound, ``_next_due``)."""
        with self._write() as conn:
            rows = self._fetch_all(conn, _DUE + self._due_lock, (self._stamp_in(now), limit))
            due = [schedule(row, self._codec) for row in rows]
            self._exec_many(
                conn,
                "UPDATE sync_schedules SET next_run_at = ? WHERE id = ?",
                [(self._stamp_in(_next_due(now, s.frequency_seconds)), s.schedule_id) for s in due],
            )
        return due

    def set_schedule_last_run(self, schedule_id: int, run_id: str) -> None:
        """Records the run a schedule started."""
        with self._write() as conn:
            self._exec(
                conn,
                "UPDATE sync_schedules SET last_run_id = ? WHERE id = ?",
                (run_id, schedule_id),
            )

    def mark_manual_run(
        self, env_id: int, connection_id: str, sync_name: str, variant: str, run_id: str
    ) -> bool:
        """Records a run started by hand (``TriggerSync``) as the schedule's last run, so the
        schedule shows it and does not start the same sync beside it while it runs. False when
        the sync has no schedule on that connection."""
        if names_hold_nul(connection_id, sync_name, variant):
            return False
        with self._write() as conn:
            changed = self._exec(
                conn,
                "UPDATE sync_schedules SET last_run_id = ? WHERE sync_name = ? AND variant = ?"
                " AND connection_pk = (SELECT id FROM connections"
                " WHERE env_id = ? AND connection_id = ?)",
                (run_id, sync_name, variant, env_id, connection_id),
            )
        return changed > 0

    def remove_schedules(self, env_id: int, integration_key: str, keep: frozenset[str]) -> None:
        """Removes the integration's schedules of syncs not in ``keep`` (after a deploy)."""
        with self._write() as conn:
            statement = _REMOVE + self._not_among()
            self._exec(conn, statement, (env_id, integration_key, self._text_list(sorted(keep))))

    def _one(self, conn: C, pk: int, sync_name: str, variant: str) -> Schedule:
        row = self._fetch_one(
            conn,
            _SELECT + " WHERE s.connection_pk = ? AND s.sync_name = ? AND s.variant = ?",
            (pk, sync_name, variant),
        )
        if row is None:
            raise _unknown(sync_name)
        return schedule(row, self._codec)


def _next_due(now: datetime, seconds: float) -> datetime:
    """``now`` plus an interval as stored, which is bounded first (``bounded_seconds``): a row
    no parse checked (written before the bound, or by hand) never fails the claim of every
    environment's schedules with an ``OverflowError``."""
    return now + timedelta(seconds=bounded_seconds(seconds))


def _unknown(sync_name: str) -> NotFound:
    return NotFound(
        f"sync {sync_name!r} has no schedule for this connection", code="unknown_schedule"
    )


def _check_state(state: str) -> None:
    if state not in SCHEDULE_STATES:
        raise InvalidRequest(f"a schedule is {' or '.join(sorted(SCHEDULE_STATES))}")
