"""The PostgreSQL engine's runs and run logs.

The same semantics as ``_sqlite_runs``. Where SQLite's single writer made them hold, row locks
and atomic statements do here: two claims of one idempotency key make one run (the unique
index decides), the first finish wins (the update re-checks the state under the row's lock),
and appends to one run's log take turns on the run's row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from corral._budgets import Budgets, capped_meta, log_size
from corral.errors import InvalidRequest, NotFound
from orchestrator.storage._areas import LogLine, NewRun, Run
from orchestrator.storage._pg_base import PgConnection, PostgresBase, jsonb, utc
from orchestrator.storage._pg_records import lock_records
from orchestrator.storage._run_leases import queries
from orchestrator.storage._sqlite_base import dumps

_LEASES = queries("%s", "FOR UPDATE SKIP LOCKED")


class RunsMixin(PostgresBase):
    """Runs and their logs: ``orchestrator.storage._areas.RunStore``."""

    # ---- runs ----

    def create_run(self, env_id: int, run: NewRun) -> Run:
        """Stores a queued run with a new random id."""
        with self._write() as conn:
            self._require_environment(conn, env_id)
            found = self._insert_run(conn, env_id, run)
        if found is None:  # only a run with an idempotency key can meet a conflict
            raise InvalidRequest(
                "a run with this idempotency key exists", code="idempotency_key_reused"
            )
        return found

    def purge_runs(self, finished_before: datetime, env_id: int | None = None) -> int:
        """Deletes runs that ended before ``finished_before``, with their logs; returns how many.

        Only the runs of environment ``env_id`` when it is given. A sync schedule's last run is
        kept, and so is every run still queued or running.
        """
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < %s"
                " AND (%s::bigint IS NULL OR env_id = %s) AND run_id NOT IN"
                " (SELECT last_run_id FROM sync_schedules WHERE last_run_id IS NOT NULL)",
                (finished_before, env_id, env_id),
            )
            return int(cursor.rowcount)

    def claim_run(self, env_id: int, run: NewRun) -> tuple[Run, bool]:
        """The run of ``run.idempotency_key`` in the environment: the one stored before (and
        False), or a new queued run (and True). Two claims of one key at once make one run:
        the unique index lets one insert in and the other finds that run.

        Raises:
            InvalidRequest: ``idempotency_key_reused``, the key's run is of another function,
                connection or input.
        """
        with self._write() as conn:
            self._require_environment(conn, env_id)
            inserted = self._insert_run(conn, env_id, run)
            if inserted is not None:
                return inserted, True
            row = conn.execute(
                "SELECT * FROM runs WHERE env_id = %s AND idempotency_key = %s",
                (env_id, run.idempotency_key),
            ).fetchone()
            if row is None:  # the key's run was purged between the insert and this read
                raise NotFound("the idempotency key's run is gone", code="unknown_run")
            found = _run(row)
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

    def _insert_run(self, conn: PgConnection, env_id: int, run: NewRun) -> Run | None:
        """The new queued run, or None when its idempotency key has a run already."""
        row = conn.execute(
            "INSERT INTO runs (run_id, env_id, function_name, integration_key, kind,"
            " connection_id, variant, state, input_json, parent_run_id, idempotency_key,"
            " created_at, owner, lease_until, requeue)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, 'queued', %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (env_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
            " DO NOTHING RETURNING *",
            (
                *(str(uuid.uuid4()), env_id, run.function_name, run.integration_key, run.kind),
                *(run.connection_id, run.variant, run.input_json, run.parent_run_id),
                *(run.idempotency_key, self._now(), run.owner),
                self._now() + timedelta(seconds=run.lease_seconds) if run.owner else None,
                run.requeue,
            ),
        ).fetchone()
        return None if row is None else _run(row)

    def mark_run_started(self, run_id: str) -> None:
        """Moves a queued run to running; a run past queued stays as it is."""
        with self._write() as conn:
            self._run(conn, run_id)
            conn.execute(
                "UPDATE runs SET state = 'running', started_at = %s"
                " WHERE run_id = %s AND state = 'queued'",
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
            row = conn.execute(
                "UPDATE runs SET state = %s, output_json = %s, error = %s, finished_at = %s"
                " WHERE run_id = %s AND state IN ('queued', 'running') RETURNING *",
                (
                    "succeeded" if ok else "failed",
                    output_json,
                    None if error is None else jsonb(error),
                    self._now(),
                    run_id,
                ),
            ).fetchone()
            return _run(row) if row is not None else self._run(conn, run_id)

    def end_unfinished_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends every queued or running run as failed with ``error``; returns their ids, oldest
        first.

        Called when an orchestrator starts, before it runs anything: every unfinished run then
        belongs to a process that is gone (true of one orchestrator; several on one database
        need run leases, issue 11). Their deletion tracking is dropped in the same transaction
        (nothing is deleted), so a crash half way leaves nothing to mend.
        """
        with self._write() as conn:
            lock_records(conn)  # it clears deletion marks of records
            rows = conn.execute(
                "UPDATE runs SET state = 'failed', error = %s, finished_at = %s"
                " WHERE state IN ('queued', 'running') RETURNING id, run_id",
                (jsonb(error), self._now()),
            ).fetchall()
            ids = [str(row["run_id"]) for row in sorted(rows, key=lambda row: int(row["id"]))]
            drop_run_trackings(conn, ids)
        return ids

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        """Extends the lease of ``owner``'s queued and running runs to now + ``lease_seconds``."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET lease_until = %s"
                " WHERE owner = %s AND state IN ('queued', 'running')",
                (self._now() + timedelta(seconds=lease_seconds), owner),
            )
            return int(cursor.rowcount)

    def end_expired_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends the queued and running runs whose lease expired (or that have none) as failed
        with ``error``; returns their ids, oldest first. Their deletion tracking is dropped in
        the same transaction. Each run is ended once, whoever sweeps: the update re-checks the
        state and the lease under the row's lock."""
        if not self._any(_LEASES["any_expired"]):
            return []
        with self._write() as conn:
            lock_records(conn)  # it clears deletion marks of records
            found = conn.execute(_LEASES["expired"], (self._now(),)).fetchall()
            ids = [str(row["run_id"]) for row in found]
            conn.execute(
                "UPDATE runs SET state = 'failed', error = %s, finished_at = %s WHERE id = ANY(%s)",
                (jsonb(error), self._now(), [int(row["id"]) for row in found]),
            )
            drop_run_trackings(conn, ids)
        return ids

    def _any(self, query: str) -> bool:
        """Whether ``query`` (a lease query) finds a run: a read, so that a sweep that finds
        none writes and locks nothing."""
        with self._read() as conn:
            return conn.execute(query, (self._now(),)).fetchone() is not None

    def release_run(self, run_id: str) -> None:
        """Ends the lease of a queued re-queueable run now, so another orchestrator takes it
        over at its next sweep; any other run stays as it is."""
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET owner = NULL, lease_until = %s"
                " WHERE run_id = %s AND state = 'queued' AND requeue IS NOT NULL",
                (self._now(), run_id),
            )

    def take_over_runs(self, owner: str, lease_seconds: float, limit: int) -> list[tuple[Run, str]]:
        """Gives ``owner`` at most ``limit`` queued re-queueable runs whose lease expired, with
        a new lease; returns them with their mark, oldest first. Rows another orchestrator is
        taking at the same moment are skipped (``FOR UPDATE SKIP LOCKED``), so each run goes to
        one orchestrator only."""
        if not self._any(_LEASES["any_orphaned"]):
            return []
        with self._write() as conn:
            found = conn.execute(_LEASES["orphaned"], (self._now(), limit)).fetchall()
            rows = conn.execute(
                "UPDATE runs SET owner = %s, lease_until = %s WHERE id = ANY(%s) RETURNING *",
                (
                    owner,
                    self._now() + timedelta(seconds=lease_seconds),
                    [int(r["id"]) for r in found],
                ),
            ).fetchall()
        rows.sort(key=lambda row: int(row["id"]))
        return [(_run(row), str(row["requeue"])) for row in rows]

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
                    "SELECT id FROM runs WHERE run_id = %s AND env_id = %s",
                    (before_run_id, env_id),
                ).fetchone()
                if row is None:
                    raise NotFound(f"no run {before_run_id!r}", code="unknown_run")
                before = int(row["id"])
            rows = conn.execute(
                "SELECT * FROM runs WHERE env_id = %(env)s"
                " AND (%(connection)s::text IS NULL OR connection_id = %(connection)s)"
                " AND (%(function)s::text IS NULL OR function_name = %(function)s)"
                " AND id < %(before)s ORDER BY id DESC LIMIT %(limit)s",
                {
                    "env": env_id,
                    "connection": connection_id,
                    "function": function_name,
                    "before": before,
                    "limit": limit,
                },
            ).fetchall()
        return [_run(row) for row in rows]

    def _run(self, conn: PgConnection, run_id: str) -> Run:
        row = conn.execute("SELECT * FROM runs WHERE run_id = %s", (run_id,)).fetchone()
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
                "SELECT id, log_count, logs_dropped, log_bytes FROM runs WHERE run_id = %s"
                " FOR NO KEY UPDATE",
                (run_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no run {run_id!r}", code="unknown_run")
            run_pk, count, dropped, used = (
                int(row[column]) for column in ("id", "log_count", "logs_dropped", "log_bytes")
            )
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
                "UPDATE runs SET log_count = %s, log_bytes = %s WHERE id = %s",
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
                "SELECT id FROM runs WHERE run_id = %s AND env_id = %s", (run_id, env_id)
            ).fetchone()
            if row is None:
                raise NotFound(f"no run {run_id!r}", code="unknown_run")
            # LIMIT NULL is no limit.
            rows = conn.execute(
                "SELECT * FROM run_logs WHERE run_pk = %s AND seq > %s ORDER BY seq LIMIT %s",
                (row["id"], after_seq, limit),
            ).fetchall()
        return [_log_line(line) for line in rows]

    def _insert_logs(
        self, conn: PgConnection, run_pk: int, count: int, lines: Sequence[LogLine]
    ) -> None:
        if not lines:
            return
        now = self._now()
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO run_logs (run_pk, seq, level, message, meta_json, timestamp)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (
                        *(run_pk, count + i, line.level, line.message, line.meta_json),
                        line.timestamp or now,
                    )
                    for i, line in enumerate(lines, start=1)
                ],
            )

    def _mark_dropped(self, conn: PgConnection, run_pk: int, seq: int, dropped: int) -> None:
        message = f"{dropped} log line(s) dropped: the run is past its log budget"
        conn.execute(
            "INSERT INTO run_logs (run_pk, seq, level, message, meta_json, timestamp)"
            " VALUES (%s, %s, 'warn', %s, %s, %s) ON CONFLICT (run_pk, seq) DO UPDATE SET"
            " message = excluded.message, meta_json = excluded.meta_json,"
            " timestamp = excluded.timestamp",
            (run_pk, seq, message, dumps({"dropped": dropped}), self._now()),
        )
        conn.execute("UPDATE runs SET logs_dropped = %s WHERE id = %s", (dropped, run_pk))


def drop_run_trackings(conn: PgConnection, run_ids: Sequence[str]) -> None:
    """Drops every deletion tracking of the runs and its marks, in the caller's transaction.

    Shared by ``end_unfinished_runs`` and ``TrackingMixin.abandon_tracking``; the caller holds
    the record writers' lock.
    """
    if not run_ids:
        return
    conn.execute(
        "UPDATE records r SET delete_mark = NULL FROM delete_trackings t"
        " WHERE t.run_id = ANY(%(runs)s) AND r.connection_pk = t.connection_pk"
        " AND r.model = t.model AND r.variant = t.variant AND r.delete_mark = t.id",
        {"runs": list(run_ids)},
    )
    conn.execute("DELETE FROM delete_trackings WHERE run_id = ANY(%s)", (list(run_ids),))


def _run(row: Mapping[str, Any]) -> Run:
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
        error=row["error"],
        parent_run_id=row["parent_run_id"],
        created_at=utc(row["created_at"]),
        started_at=None if row["started_at"] is None else utc(row["started_at"]),
        finished_at=None if row["finished_at"] is None else utc(row["finished_at"]),
        logs_dropped=int(row["logs_dropped"]),
    )


def _log_line(row: Mapping[str, Any]) -> LogLine:
    return LogLine(
        level=row["level"],
        message=row["message"],
        meta_json=row["meta_json"],
        timestamp=utc(row["timestamp"]),
        seq=int(row["seq"]),
    )
