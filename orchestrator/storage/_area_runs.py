"""Runs and run logs for every engine.

``RunsArea`` implements ``orchestrator.storage._areas.RunStore`` once. Where SQLite's single
writer makes its guarantees hold, PostgreSQL's row locks and atomic statements do: two claims of
one idempotency key make one run (the unique index decides), the first finish wins (the update
re-checks the state), expired runs are ended once whoever sweeps, and appends to one run's log
take turns on the run's row (``EngineBase._locking``). An engine's ``RunsMixin`` ends the runs a
previous process left, and drops runs' deletion tracking, its own way.
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from corral._budgets import Budgets, capped_meta, log_size
from corral.errors import InvalidRequest, NotFound
from orchestrator._text_values import names_hold_nul, without_nul
from orchestrator.storage._engine import C
from orchestrator.storage._rows import Row, dumps, log_line
from orchestrator.storage._rows import run as run_row
from orchestrator.storage._run_leases import queries
from orchestrator.storage._run_notifications import RunNotifications
from orchestrator.storage._types import LogLine, NewRun, Run

_LEASES = queries("?")

_NO_LIMIT = 2**63 - 1
"""A LIMIT that keeps every row."""

INSERT_RUN = (
    "INSERT INTO runs (run_id, env_id, function_name, integration_key, kind, connection_id,"
    " variant, state, input_json, parent_run_id, idempotency_key, created_at, started_at, owner,"
    " lease_until, requeue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (env_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
    " DO NOTHING RETURNING *"
)
"""A new run (``_new_run_values``); no row when its idempotency key has a run already."""
_RUN_BY_ID = "SELECT * FROM runs WHERE run_id = ?"
FINISH_RUN = (
    "UPDATE runs SET state = ?, output_json = ?, error = ?, finished_at = ?"
    " WHERE run_id = ? AND state IN ('queued', 'running') RETURNING *"
)
"""A run's first finish (``_finish_run``); no row when it had finished before."""


def _without_nul(line: LogLine) -> LogLine:
    """A log line whose level, message and metadata hold no NUL (each one U+FFFD)."""
    if not names_hold_nul(line.level, line.message, line.meta_json):
        return line
    return replace(
        line,
        level=without_nul(line.level),
        message=without_nul(line.message),
        meta_json=without_nul(line.meta_json),
    )


def oldest_first(rows: list[Row]) -> list[str]:
    """The ``run_id`` of rows with ``id`` and ``run_id``, by ``id``."""
    return [str(row["run_id"]) for row in sorted(rows, key=lambda row: int(row["id"]))]


class RunsArea(RunNotifications[C]):
    """Runs and their logs: ``orchestrator.storage._areas.RunStore``."""

    # ---- runs ----

    def create_run(self, env_id: int, run: NewRun) -> Run:
        """Stores a queued run (``running`` when ``run.started``) with a new random id (or
        ``run.run_id``)."""
        return self._create_run(env_id, run, INSERT_RUN)

    def _create_run(self, env_id: int, run: NewRun, sql: str, before: Sequence[Any] = ()) -> Run:
        """``create_run`` by ``sql``, whose parameters are ``before``'s, then the run's."""
        values = (*before, *self._new_run_values(env_id, run))
        row = self._insert_in_environment(env_id, sql, values)
        found = None if row is None else run_row(row, self._codec)
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
            return self._exec(
                conn,
                "DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?"
                " AND (CAST(? AS BIGINT) IS NULL OR env_id = ?) AND run_id NOT IN"
                " (SELECT last_run_id FROM sync_schedules WHERE last_run_id IS NOT NULL)",
                (self._stamp_in(finished_before), env_id, env_id),
            )

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
            row = self._fetch_one(
                conn,
                "SELECT * FROM runs WHERE env_id = ? AND idempotency_key = ?",
                (env_id, run.idempotency_key),
            )
            if row is None:  # the key's run was purged between the insert and this read
                raise NotFound("the idempotency key's run is gone", code="unknown_run")
            found = run_row(row, self._codec)
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

    def _insert_run(self, conn: C, env_id: int, run: NewRun) -> Run | None:
        """The new queued (or started) run, or None when its idempotency key has a run
        already."""
        row = self._fetch_one(conn, INSERT_RUN, self._new_run_values(env_id, run))
        return None if row is None else run_row(row, self._codec)

    def _new_run_values(self, env_id: int, run: NewRun) -> tuple[object, ...]:
        """The parameters of :data:`INSERT_RUN` for a new run with a new random id."""
        now = self._now()
        return (
            *(run.run_id or str(uuid.uuid4()), env_id, run.function_name),
            *(run.integration_key, run.kind),
            *(run.connection_id, run.variant, "running" if run.started else "queued"),
            *(run.input_json, run.parent_run_id, run.idempotency_key, now),
            now if run.started else None,
            run.owner,
            self._lease_end(run.lease_seconds) if run.owner else None,
            run.requeue,
        )

    def mark_run_started(self, run_id: str) -> None:
        """Moves a queued run to running; a run past queued stays as it is."""
        with self._write() as conn:
            self._run(conn, run_id)
            self._exec(
                conn,
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
        return self._finish_run(FINISH_RUN, (), run_id, ok=ok, output=output_json, error=error)

    def _finish_run(
        self,
        sql: str,
        before: Sequence[Any],
        run_id: str,
        *,
        ok: bool,
        output: str | None,
        error: Mapping[str, Any] | None,
    ) -> Run:
        """``finish_run`` by ``sql``, whose parameters are ``before``'s, then the finish's.

        A NUL in the output or the error is stored as U+FFFD (``orchestrator._text_values``):
        neither engine may refuse a run's outcome, nor answer it otherwise than the other.
        """
        outcome = "succeeded" if ok else "failed"
        output = None if output is None else without_nul(output)
        stored_error = None if error is None else self._json_in(without_nul(dict(error)))
        row = self._write_one(sql, (*before, outcome, output, stored_error, self._now(), run_id))
        if row is None:  # finished before (or no such run): as it is
            row = self._read_one(_RUN_BY_ID, (run_id,))
        if row is None:
            raise NotFound(f"no run {run_id!r}", code="unknown_run")
        return run_row(row, self._codec)

    def end_unfinished_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends every queued or running run as failed with ``error``; returns their ids, oldest
        first.

        Called when an orchestrator starts, before it runs anything: every unfinished run then
        belongs to a process that is gone (true of one orchestrator; several on one database
        need run leases, issue 11). Their deletion tracking is dropped in the same transaction
        (nothing is deleted), so a crash half way leaves nothing to mend.
        """
        with self._write() as conn:
            self._lock_all_records(conn)  # it clears deletion marks of records
            return self._end_unfinished(conn, self._json_in(error))

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        """Extends the lease of ``owner``'s queued and running runs to now + ``lease_seconds``."""
        with self._write() as conn:
            return self._exec(
                conn,
                "UPDATE runs SET lease_until = ?"
                " WHERE owner = ? AND state IN ('queued', 'running')",
                (self._lease_end(lease_seconds), owner),
            )

    def end_expired_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends the queued and running runs whose lease expired (or that have none) as failed
        with ``error``; returns their ids, oldest first. Their deletion tracking is dropped in
        the same transaction. Each run is ended once, whoever sweeps: the update re-checks the
        state and the lease under the row's lock."""
        if not self._any(_LEASES["any_expired"]):
            return []
        with self._write() as conn:
            self._lock_all_records(conn)  # it clears deletion marks of records
            now = self._now()
            rows = self._fetch_all(conn, _LEASES["end_expired"], (self._json_in(error), now, now))
            ids = oldest_first(rows)
            self._drop_run_trackings(conn, ids)
        return ids

    def _any(self, query: str) -> bool:
        """Whether ``query`` (a lease query) finds a run: a read, so that a sweep that finds
        none writes and locks nothing."""
        with self._read() as conn:
            return self._fetch_one(conn, query, (self._now(),)) is not None

    def release_run(self, run_id: str) -> None:
        """Ends the lease of a queued re-queueable run now, so another orchestrator takes it
        over at its next sweep; any other run stays as it is."""
        with self._write() as conn:
            self._exec(
                conn,
                "UPDATE runs SET owner = NULL, lease_until = ?"
                " WHERE run_id = ? AND state = 'queued' AND requeue IS NOT NULL",
                (self._now(), run_id),
            )

    def take_over_runs(self, owner: str, lease_seconds: float, limit: int) -> list[tuple[Run, str]]:
        """Gives ``owner`` at most ``limit`` queued re-queueable runs whose lease expired, with
        a new lease; returns them with their mark, oldest first. Where the engine locks rows,
        rows another orchestrator is taking at the same moment are skipped
        (``FOR ... SKIP LOCKED``), so each run goes to one orchestrator only; SQLite's single
        writer does the same."""
        if not self._any(_LEASES["any_orphaned"]):
            return []
        skip = " SKIP LOCKED" if self._row_lock else ""
        with self._write() as conn:
            rows = self._fetch_all(
                conn, self._locking(_LEASES["orphaned"]) + skip, (self._now(), limit)
            )
            taken = []
            for row in sorted(rows, key=lambda row: int(row["id"])):
                self._exec(
                    conn,
                    "UPDATE runs SET owner = ?, lease_until = ? WHERE id = ?",
                    (owner, self._lease_end(lease_seconds), row["id"]),
                )
                taken.append((self._run(conn, str(row["run_id"])), str(row["requeue"])))
        return taken

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
        if names_hold_nul(before_run_id):
            raise NotFound(f"no run {before_run_id!r}", code="unknown_run")
        if names_hold_nul(connection_id, function_name):
            return []  # no stored run holds a NUL (``orchestrator._text_values``)
        with self._read() as conn:
            before = 2**63 - 1
            if before_run_id:
                row = self._fetch_one(
                    conn,
                    "SELECT id FROM runs WHERE run_id = ? AND env_id = ?",
                    (before_run_id, env_id),
                )
                if row is None:
                    raise NotFound(f"no run {before_run_id!r}", code="unknown_run")
                before = int(row["id"])
            rows = self._fetch_all(
                conn,
                "SELECT * FROM runs WHERE env_id = ?"
                " AND (CAST(? AS TEXT) IS NULL OR connection_id = ?)"
                " AND (CAST(? AS TEXT) IS NULL OR function_name = ?)"
                " AND id < ? ORDER BY id DESC LIMIT ?",
                (env_id, connection_id, connection_id, function_name, function_name, before, limit),
            )
        return [run_row(row, self._codec) for row in rows]

    def _run(self, conn: C, run_id: str) -> Run:
        row = None if names_hold_nul(run_id) else self._fetch_one(conn, _RUN_BY_ID, (run_id,))
        if row is None:
            raise NotFound(f"no run {run_id!r}", code="unknown_run")
        return run_row(row, self._codec)

    def _lease_end(self, lease_seconds: float) -> object:
        return self._stamp_in(self._clock() + timedelta(seconds=lease_seconds))

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
        ``warn``) that says how many were dropped. A NUL in a line's message or metadata is
        stored as U+FFFD (``orchestrator._text_values``).
        """
        if names_hold_nul(run_id):
            raise NotFound(f"no run {run_id!r}", code="unknown_run")
        lines = [_without_nul(line) for line in lines]
        max_lines = self._max_log_lines
        max_bytes = 2**63 - 1
        if budgets is not None:
            max_lines = budgets.log_lines_per_run
            max_bytes = budgets.log_bytes_per_run
            lines = [
                replace(line, meta_json=capped_meta(line.meta_json, budgets)) for line in lines
            ]
        with self._write() as conn:
            # Where the engine locks rows, appends to one run's log take turns on its row.
            row = self._fetch_one(
                conn,
                self._locking(
                    "SELECT id, log_count, logs_dropped, log_bytes FROM runs WHERE run_id = ?"
                ),
                (run_id,),
            )
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
            self._exec(
                conn,
                "UPDATE runs SET log_count = ?, log_bytes = ? WHERE id = ?",
                (count + len(kept), used, run_pk),
            )

    def get_logs(
        self, env_id: int, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[LogLine]:
        """A run's log lines in order, the dropped-lines marker last (NotFound ``unknown_run``).

        Only lines after ``after_seq``, at most ``limit`` of them when given.
        """
        if names_hold_nul(run_id):
            raise NotFound(f"no run {run_id!r}", code="unknown_run")
        with self._read() as conn:
            row = self._fetch_one(
                conn, "SELECT id FROM runs WHERE run_id = ? AND env_id = ?", (run_id, env_id)
            )
            if row is None:
                raise NotFound(f"no run {run_id!r}", code="unknown_run")
            rows = self._fetch_all(
                conn,
                "SELECT * FROM run_logs WHERE run_pk = ? AND seq > ? ORDER BY seq LIMIT ?",
                (row["id"], after_seq, _NO_LIMIT if limit is None else limit),
            )
        return [log_line(line, self._codec) for line in rows]

    def _insert_logs(self, conn: C, run_pk: int, count: int, lines: Sequence[LogLine]) -> None:
        if not lines:
            return
        now = self._now()
        self._exec_many(
            conn,
            "INSERT INTO run_logs (run_pk, seq, level, message, meta_json, timestamp)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    *(run_pk, count + i, line.level, line.message, line.meta_json),
                    self._stamp_in(line.timestamp) if line.timestamp else now,
                )
                for i, line in enumerate(lines, start=1)
            ],
        )

    def _mark_dropped(self, conn: C, run_pk: int, seq: int, dropped: int) -> None:
        message = f"{dropped} log line(s) dropped: the run is past its log budget"
        self._exec(
            conn,
            "INSERT INTO run_logs (run_pk, seq, level, message, meta_json, timestamp)"
            " VALUES (?, ?, 'warn', ?, ?, ?) ON CONFLICT (run_pk, seq) DO UPDATE SET"
            " message = excluded.message, meta_json = excluded.meta_json,"
            " timestamp = excluded.timestamp",
            (run_pk, seq, message, dumps({"dropped": dropped}), self._now()),
        )
        self._exec(conn, "UPDATE runs SET logs_dropped = ? WHERE id = ?", (dropped, run_pk))

    # ---- what each engine does its own way ----

    @abstractmethod
    def _lock_all_records(self, conn: C) -> None:
        """Where the engine locks record scopes: makes the transaction the one record writer
        of every scope (it clears deletion marks across scopes)."""

    @abstractmethod
    def _end_unfinished(self, conn: C, error: object) -> list[str]:
        """Ends every queued or running run as failed with ``error`` (as bound), drops their
        deletion tracking; their ids, oldest first."""

    @abstractmethod
    def _drop_run_trackings(self, conn: C, run_ids: Sequence[str]) -> None:
        """Drops every deletion tracking of the runs and its marks."""
