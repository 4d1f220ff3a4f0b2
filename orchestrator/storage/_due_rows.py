"""Rows that wait in the store for whichever orchestrator claims them first: the shared claim of
``sync_notifications`` (``_run_notifications``) and ``webhook_inbox`` (``_webhook_inbox``).

A row is due once ``due_at`` has passed and no claim holds it (``claimed_until`` unset or
passed). A claim marks the due rows it takes as the caller's for a while, in one transaction:
PostgreSQL's ``FOR NO KEY UPDATE ... SKIP LOCKED`` keeps two claims at once from taking one row,
SQLite's single writer does the same. The caller then forgets a row (done) or puts it off
(``due_at``, one more try, its claim dropped); a caller that dies leaves its claims to run out.
Times are seconds since the epoch, from the callers' clocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.storage._engine import C, EngineBase
from orchestrator.storage._rows import Row


@dataclass(frozen=True)
class DueTable:
    """A table of waiting rows: its name, key column, and the query of its due rows."""

    name: str
    key: str
    select: str
    """``SELECT ... FROM <name> AS w [JOIN ...] WHERE {due}``: the rows a claim returns (its
    table aliased ``w``); ``{due}`` is filled in."""
    environment: str
    """The column of a row's environment in ``select`` (a claim may leave some out)."""
    order: str = "w.due_at, w.{key}"


_DUE = "w.due_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until <= ?)"


class DueRows(EngineBase[C]):
    """Claims, puts off and forgets waiting rows (``DueTable``)."""

    def _claim_due(
        self,
        table: DueTable,
        now: float,
        hold_seconds: float,
        limit: int,
        skip_environments: Sequence[int] = (),
    ) -> list[Row]:
        """Up to ``limit`` due rows no other caller holds (oldest due first), none of the
        environments in ``skip_environments``, each held until ``now + hold_seconds``.
        Finding none is a read only."""
        name, key = table.name, table.key
        due, params = _DUE, [now, now]
        if skip_environments:
            due += f" AND {table.environment} NOT IN ({', '.join('?' for _ in skip_environments)})"
            params += list(skip_environments)
        select = table.select.format(due=due)
        if self._read_one(f"{select} LIMIT 1", params) is None:
            return []
        lock = " FOR NO KEY UPDATE OF w SKIP LOCKED" if self._row_lock else ""
        query = f"{select} ORDER BY {table.order.format(key=key)} LIMIT ?{lock}"
        with self._write() as conn:
            rows = self._fetch_all(conn, query, (*params, limit))
            if rows:
                marks = ", ".join("?" for _ in rows)
                self._exec(
                    conn,
                    f"UPDATE {name} SET claimed_until = ? WHERE {key} IN ({marks})",  # noqa: S608 - constant names, placeholders
                    (now + hold_seconds, *(row[key] for row in rows)),
                )
        return rows

    def _count_waiting(self, table: DueTable) -> int:
        """The rows waiting (due or not, claimed or not)."""
        row = self._read_one(f"SELECT count(*) AS n FROM {table.name}")  # noqa: S608 - constant names
        return 0 if row is None else int(row["n"])

    def _tried(self, table: DueTable, where: str, key: object, retry_at: float | None) -> None:
        """A claimed row's try ended: with ``retry_at`` due again then, one more try counted
        and its claim dropped; with None, forgotten. ``where`` picks it (one ``?``: ``key``)."""
        with self._write() as conn:
            if retry_at is None:
                self._exec(conn, f"DELETE FROM {table.name} WHERE {where}", (key,))  # noqa: S608 - constant names
            else:
                self._exec(
                    conn,
                    f"UPDATE {table.name} SET tries = tries + 1, due_at = ?,"  # noqa: S608 - constant names
                    f" claimed_until = NULL WHERE {where}",
                    (retry_at, key),
                )
