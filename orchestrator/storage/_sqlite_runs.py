"""The SQLite engine's runs and run logs."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from corral._budgets import Budgets, capped_meta, log_size
from corral.errors import InvalidRequest, NotFound
from orchestrator.storage._areas import LogLine, NewRun, Run
from orchestrator.storage._records import from_rfc3339, to_rfc3339
from orchestrator.storage._run_leases import queries
from orchestrator.storage._sqlite_base import SqliteBase, dumps, json_object, loads, timestamp
from orchestrator.storage._sqlite_tracking import drop_run_trackings

UNFINISHED_RUNS_QUERY = "SELECT run_id FROM runs WHERE state IN ('queued', 'running') ORDER BY id"
"""The runs a previous process left unfinished (the partial index ``runs_unfinished``)."""
END_UNFINISHED_RUNS_QUERY = (
    "UPDATE runs SET state = 'failed', error = ?, finished_at = ?"
    " WHERE state IN ('queued', 'running')"
)
"""Ends them (the same index)."""
_LEASES = queries("?")


class RunsMixin(SqliteBase):
    """Runs and their logs: ``orchestrator.storage._areas.RunStore``."""

    # ---- runs ----

    def create_run(self, env_id: int, run: NewRun) -> Run:
        """Stores a queued run with a new random id."""
        with self._write() as conn:
            return self._insert_run(conn, env_id, run)

    def purge_runs(self, finished_before: datetime, env_id: int | None = None) -> int:
        """Deletes runs that ended before ``finished_before``, with their logs; returns how many.

        Only the runs of environment ``env_id`` when it is given. A sync schedule's last run is
        kept, and so is every run still queued or running.
        """
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?"
                " AND (? IS NULL OR env_id = ?) AND run_id NOT IN"
                " (SELECT last_run_id FROM sync_schedules WHERE last_run_id IS NOT NULL)",
                (to_rfc3339(finished_before), env_id, env_id),
            )
            return int(cursor.rowcount)

    def claim_run(self, env_id: int, run: NewRun) -> tuple[Run, bool]:
        """The run of ``run.idempotency_key`` in the environment: the one stored before (and
        False), or a new queued run (and True). One transaction, so two claims of one key make
        one run.

        Raises:
            InvalidRequest: ``idempotency_key_reused``, the key's run is of another function,
                connection or input.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT run_id FROM runs WHERE env_id = ? AND idempotency_key = ?",
                (env_id, run.idempotency_key),
            ).fetchone()
            if row is None:
                return self._insert_run(conn, env_id, run), True
            found = self._run(conn, row["run_id"])
            same = (found.function_name, found.connection_id, found.input_json) == (
                run.function_name,
                run.connection_id,
                run.input_json,
            )
            if not same:
                raise InvalidRequest(
                    "this idempotency key was used for another function, connection or input",
                    code="idempotency_key_reused",
                    details={"run_id": found.run_id},
                )
            return found, False

    def _insert_run(self, conn: sqlite3.Connection, env_id: int, run: NewRun) -> Run:
        run_id = str(uuid.uuid4())
        self._require_environment(conn, env_id)
        conn.execute(
            "INSERT INTO runs (run_id, env_id, function_name, integration_key, kind,"
            " connection_id, variant, state, input_json, parent_run_id, idempotency_key,"
            " created_at, owner, lease_until, requeue)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
            (
                *(run_id, env_id, run.function_name, run.integration_key, run.kind),
                *(run.connection_id, run.variant, run.input_json, run.parent_run_id),
                *(run.idempotency_key, self._now(), run.owner),
                self._lease_end(run.lease_seconds) if run.owner else None,
                run.requeue,
            ),
        )
        return self._run(conn, run_id)

    def mark_run_started(self, run_id: str) -> None:
        """Moves a queued run to running; a run past queued stays as it is."""
        with self._write() as conn:
            self._run(conn, run_id)
            conn.execute(
                "UPDATE runs SET state = 'running', started_at = ?"
                " WHERE run_id = ? AND state = 'queued'",
                (self._now(), run_id),
            )

    def finish_run(
        self, run_id: str, ok: bool, output_json: str | None, error: Mapping[str, Any] | None
    ) -> Run:
        """Ends a run as succeeded (``ok``) or failed.

        The first finish wins: finishing a finished run changes nothing and returns it as it
        is, so a late result cannot overwrite a timeout.
        """
        with self._write() as conn:
            self._run(conn, run_id)
            conn.execute(
                "UPDATE runs SET state = ?, output_json = ?, error = ?, finished_at = ?"
                " WHERE run_id = ? AND state IN ('queued', 'running')",
                (
                    "succeeded" if ok else "failed",
                    output_json,
                    None if error is None else json_object(error),
                    self._now(),
                    run_id,
                ),
            )
            return self._run(conn, run_id)

    def end_unfinished_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends every queued or running run as failed with ``error``; returns their ids, oldest
        first.

        Called when an orchestrator starts, before it runs anything: every unfinished run then
        belongs to a process that is gone. Their deletion tracking is dropped in the same
        transaction (nothing is deleted), so a crash half way leaves nothing to mend.
        """
        with self._write() as conn:
            ids = [str(row[0]) for row in conn.execute(UNFINISHED_RUNS_QUERY)]
            drop_run_trackings(conn, ids)
            conn.execute(
                END_UNFINISHED_RUNS_QUERY,
                (json_object(error), self._now()),
            )
        return ids

    def _any(self, query: str) -> bool:
        """Whether ``query`` (a lease query) finds a run: a read, so that a sweep that finds
        none writes nothing."""
        with self._read() as conn:
            return conn.execute(query, (self._now(),)).fetchone() is not None

    def _lease_end(self, lease_seconds: float) -> str:
        return to_rfc3339(self._clock() + timedelta(seconds=lease_seconds))

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        """Extends the lease of ``owner``'s queued and running runs to now + ``lease_seconds``."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET lease_until = ?"
                " WHERE owner = ? AND state IN ('queued', 'running')",
                (self._lease_end(lease_seconds), owner),
            )
            return int(cursor.rowcount)

    def end_expired_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends the queued and running runs whose lease expired (or that have none) as failed
        with ``error``; returns their ids, oldest first. Their deletion tracking is dropped in
        the same transaction."""
        if not self._any(_LEASES["any_expired"]):
            return []
        with self._write() as conn:
            now = self._now()
            ids = [str(row["run_id"]) for row in conn.execute(_LEASES["expired"], (now,))]
            drop_run_trackings(conn, ids)
            conn.executemany(
                "UPDATE runs SET state = 'failed', error = ?, finished_at = ?"
                " WHERE run_id = ? AND state IN ('queued', 'running')",
                [(json_object(error), now, run_id) for run_id in ids],
            )
        return ids

    def release_run(self, run_id: str) -> None:
        """Ends the lease of a queued re-queueable run now, so another orchestrator takes it
        over at its next sweep; any other run stays as it is."""
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET owner = NULL, lease_until = ?"
                " WHERE run_id = ? AND state = 'queued' AND requeue IS NOT NULL",
                (self._now(), run_id),
            )

    def take_over_runs(self, owner: str, lease_seconds: float, limit: int) -> list[tuple[Run, str]]:
        """Gives ``owner`` at most ``limit`` queued re-queueable runs whose lease expired, with
        a new lease; returns them with their mark, oldest first (one writer: each goes once)."""
        if not self._any(_LEASES["any_orphaned"]):
            return []
        with self._write() as conn:
            rows = conn.execute(_LEASES["orphaned"], (self._now(), limit)).fetchall()
            conn.executemany(
                "UPDATE runs SET owner = ?, lease_until = ? WHERE id = ?",
                [(owner, self._lease_end(lease_seconds), row["id"]) for row in rows],
            )
            return [(self._run(conn, str(row["run_id"])), str(row["requeue"])) for row in rows]

    def get_run(self, env_id: int, run_id: str) -> Run:
        """A run of this environment (NotFound ``unknown_run``)."""
        with self._read() as conn:
            run = self._run(conn, run_id)
        if run.env_id != env_id:
            raise NotFound(f"no run {run_id!r}", code="unknown_run")
        return run

    def list_runs(
        self,
        env_id: int,
        connection_id: str | None = None,
        function_name: str | None = None,
        limit: int = 50,
        before_run_id: str | None = None,
    ) -> list[Run]:
        """Runs of an environment, newest first, optionally of one connection or function.

        ``before_run_id`` (a run of a previous page) keeps only runs older than it.
        """
        with self._read() as conn:
            before = 2**63 - 1
            if before_run_id:
                row = conn.execute(
                    "SELECT id FROM runs WHERE run_id = ? AND env_id = ?", (before_run_id, env_id)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no run {before_run_id!r}", code="unknown_run")
                before = int(row[0])
            rows = conn.execute(
                "SELECT * FROM runs WHERE env_id = ? AND (? IS NULL OR connection_id = ?)"
                " AND (? IS NULL OR function_name = ?) AND id < ? ORDER BY id DESC LIMIT ?",
                (env_id, connection_id, connection_id, function_name, function_name, before, limit),
            ).fetchall()
        return [_run(row) for row in rows]

    def _run(self, conn: sqlite3.Connection, run_id: str) -> Run:
        row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFound(f"no run {run_id!r}", code="unknown_run")
        return _run(row)

    # ---- logs ----

    def append_logs(
        self, run_id: str, lines: Sequence[LogLine], budgets: Budgets | None = None
    ) -> None:
        """Appends log lines to a run, numbered from 1.

        A run keeps at most ``max_log_lines`` lines, or with ``budgets`` (the environment's
        setting, which then rules) at most ``log_lines_per_run`` lines and ``log_bytes_per_run``
        bytes (a line's metadata above
        ``log_meta_bytes`` is replaced by a note). Once a line is dropped, every later one is
        too: they are counted in the run's ``logs_dropped`` and in one last marker line (level
        ``warn``) that says how many were dropped.
        """
        max_lines = self._max_log_lines
        max_bytes = 2**63 - 1
        if budgets is not None:
            max_lines = budgets.log_lines_per_run
            max_bytes = budgets.log_bytes_per_run
            lines = [
                replace(line, meta_json=capped_meta(line.meta_json, budgets)) for line in lines
            ]
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, log_count, logs_dropped, log_bytes FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no run {run_id!r}", code="unknown_run")
            run_pk, count, dropped, used = (int(v) for v in row)
            kept: list[LogLine] = []
            for line in lines if not dropped else ():
                size = log_size(line.message, line.meta_json)
                if count + len(kept) >= max_lines or used + size > max_bytes:
                    break
                kept.append(line)
                used += size
            self._insert_logs(conn, run_pk, count, kept)
            if len(kept) < len(lines):
                self._mark_dropped(
                    conn, run_pk, count + len(kept) + 1, dropped + len(lines) - len(kept)
                )
            conn.execute(
                "UPDATE runs SET log_count = ?, log_bytes = ? WHERE id = ?",
                (count + len(kept), used, run_pk),
            )

    def get_logs(
        self, env_id: int, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[LogLine]:
        """A run's log lines in order, the dropped-lines marker last (NotFound ``unknown_run``).

        Only lines after ``after_seq``, at most ``limit`` of them when given.
        """
        with self._read() as conn:
            row = conn.execute(
                "SELECT id FROM runs WHERE run_id = ? AND env_id = ?", (run_id, env_id)
            ).fetchone()
            if row is None:
                raise NotFound(f"no run {run_id!r}", code="unknown_run")
            rows = conn.execute(
                "SELECT * FROM run_logs WHERE run_pk = ? AND seq > ? ORDER BY seq LIMIT ?",
                (row[0], after_seq, -1 if limit is None else limit),
            ).fetchall()
        return [_log_line(line) for line in rows]

    def _insert_logs(
        self, conn: sqlite3.Connection, run_pk: int, count: int, lines: Sequence[LogLine]
    ) -> None:
        now = self._now()
        conn.executemany(
            "INSERT INTO run_logs (run_pk, seq, level, message, meta_json, timestamp)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    *(run_pk, count + i, line.level, line.message, line.meta_json),
                    to_rfc3339(line.timestamp) if line.timestamp else now,
                )
                for i, line in enumerate(lines, start=1)
            ],
        )

    def _mark_dropped(self, conn: sqlite3.Connection, run_pk: int, seq: int, dropped: int) -> None:
        message = f"{dropped} log line(s) dropped: the run is past its log budget"
        conn.execute(
            "INSERT INTO run_logs (run_pk, seq, level, message, meta_json, timestamp)"
            " VALUES (?, ?, 'warn', ?, ?, ?) ON CONFLICT (run_pk, seq) DO UPDATE SET"
            " message = excluded.message, meta_json = excluded.meta_json,"
            " timestamp = excluded.timestamp",
            (run_pk, seq, message, dumps({"dropped": dropped}), self._now()),
        )
        conn.execute("UPDATE runs SET logs_dropped = ? WHERE id = ?", (dropped, run_pk))


def _run(row: sqlite3.Row) -> Run:
    return Run(
        run_id=row["run_id"],
        env_id=int(row["env_id"]),
        function_name=row["function_name"],
        integration_key=row["integration_key"],
        kind=row["kind"],
        connection_id=row["connection_id"],
        variant=row["variant"],
        state=row["state"],
        input_json=row["input_json"],
        output_json=row["output_json"],
        error=loads(row["error"]),
        parent_run_id=row["parent_run_id"],
        created_at=from_rfc3339(row["created_at"]),
        started_at=timestamp(row["started_at"]),
        finished_at=timestamp(row["finished_at"]),
        logs_dropped=int(row["logs_dropped"]),
    )


def _log_line(row: sqlite3.Row) -> LogLine:
    return LogLine(
        level=row["level"],
        message=row["message"],
        meta_json=row["meta_json"],
        timestamp=from_rfc3339(row["timestamp"]),
        seq=int(row["seq"]),
    )
