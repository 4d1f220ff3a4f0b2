"""The PostgreSQL engine's sync schedules: when each sync runs for each connection.

The same semantics as ``_sqlite_schedules``. A claim locks the due rows it takes
(``FOR UPDATE SKIP LOCKED``) and moves them to their next due time in the same transaction, so
callers claiming at once, in one orchestrator or several, each get different schedules and
none twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from corral.errors import InvalidRequest, NotFound
from orchestrator.storage._areas import SCHEDULE_STATES, Schedule
from orchestrator.storage._pg_base import PgConnection, PostgresBase, utc

_COLUMNS = """
SELECT s.id, c.env_id, c.connection_id, s.sync_name, s.variant, s.state, s.frequency_seconds,
       s.next_run_at, s.last_run_id
FROM sync_schedules s JOIN connections c ON c.id = s.connection_pk
"""

# Due, running, and not already running: the last run it started (if any) has finished.
_DUE = """
SELECT s.id, c.env_id, c.connection_id, s.sync_name, s.variant, s.state, s.frequency_seconds,
       s.next_run_at, s.last_run_id
FROM sync_schedules s JOIN connections c ON c.id = s.connection_pk
WHERE s.state = 'running' AND s.next_run_at <= %(now)s
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = s.last_run_id
                  AND r.state IN ('queued', 'running'))
ORDER BY s.next_run_at LIMIT %(limit)s
FOR UPDATE OF s SKIP LOCKED
"""


def _schedule(row: Mapping[str, Any]) -> Schedule:
    return Schedule(
        schedule_id=int(row["id"]),
        env_id=int(row["env_id"]),
        connection_id=str(row["connection_id"]),
        sync_name=str(row["sync_name"]),
        variant=str(row["variant"]),
        state=str(row["state"]),
        frequency_seconds=float(row["frequency_seconds"]),
        next_run_at=utc(row["next_run_at"]),
        last_run_id=row["last_run_id"],
    )


class SchedulesMixin(PostgresBase):
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
                " frequency_seconds, next_run_at) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (connection_pk, sync_name, variant)"
                " DO UPDATE SET frequency_seconds = excluded.frequency_seconds",
                (pk, sync_name, variant, state, frequency_seconds, self._now()),
            )
            return _one(conn, pk, sync_name, variant)

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
            updated = conn.execute(
                "UPDATE sync_schedules SET state = %(state)s, next_run_at ="
                " CASE WHEN %(state)s = 'running' AND state = 'paused' THEN %(now)s"
                " ELSE next_run_at END"
                " WHERE connection_pk = %(pk)s AND sync_name = %(sync)s AND variant = %(variant)s",
                {
                    "state": state,
                    "now": self._now(),
                    "pk": pk,
                    "sync": sync_name,
                    "variant": variant,
                },
            ).rowcount
            if updated == 0:
                raise _unknown(sync_name)
            return _one(conn, pk, sync_name, variant)

    def list_schedules(self, env_id: int, connection_id: str | None = None) -> list[Schedule]:
        """The environment's schedules (of one connection, if given)."""
        with self._read() as conn:
            rows = conn.execute(
                _COLUMNS + " WHERE c.env_id = %(env)s"
                " AND (%(connection)s::text IS NULL OR c.connection_id = %(connection)s)"
                " ORDER BY s.id",
                {"env": env_id, "connection": connection_id},
            ).fetchall()
        return [_schedule(row) for row in rows]

    def claim_due_schedules(self, now: datetime, limit: int = 100) -> list[Schedule]:
        """The schedules due at ``now`` whose last run has ended; each is moved to its next
        due time in the same transaction, so no two callers claim the same one."""
        with self._write() as conn:
            due = [
                _schedule(row)
                for row in conn.execute(_DUE, {"now": now, "limit": limit}).fetchall()
            ]
            with conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE sync_schedules SET next_run_at = %s WHERE id = %s",
                    [(now + timedelta(seconds=s.frequency_seconds), s.schedule_id) for s in due],
                )
        return due

    def set_schedule_last_run(self, schedule_id: int, run_id: str) -> None:
        """Records the run a schedule started."""
        with self._write() as conn:
            conn.execute(
                "UPDATE sync_schedules SET last_run_id = %s WHERE id = %s", (run_id, schedule_id)
            )

    def remove_schedules(self, env_id: int, integration_key: str, keep: frozenset[str]) -> None:
        """Removes the integration's schedules of syncs not in ``keep`` (after a deploy)."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM sync_schedules WHERE connection_pk IN (SELECT c.id FROM connections c"
                " JOIN integrations i ON i.id = c.integration_id WHERE c.env_id = %s AND"
                " i.unique_key = %s) AND sync_name <> ALL(%s::text[])",
                (env_id, integration_key, sorted(keep)),
            )


def _one(conn: PgConnection, pk: int, sync_name: str, variant: str) -> Schedule:
    row = conn.execute(
        _COLUMNS + " WHERE s.connection_pk = %s AND s.sync_name = %s AND s.variant = %s",
        (pk, sync_name, variant),
    ).fetchone()
    if row is None:
        raise _unknown(sync_name)
    return _schedule(row)


def _unknown(sync_name: str) -> NotFound:
    return NotFound(
        f"sync {sync_name!r} has no schedule for this connection", code="unknown_schedule"
    )


def _check_state(state: str) -> None:
    if state not in SCHEDULE_STATES:
        raise InvalidRequest(f"a schedule is {' or '.join(sorted(SCHEDULE_STATES))}")
