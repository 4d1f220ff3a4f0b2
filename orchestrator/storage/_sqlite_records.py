"""The SQLite engine's records (deletion tracking is in ``_sqlite_tracking``).

The semantics are ``_area_records``'s. Every change takes the next number of the
``record_cursor`` counter; SQLite has one writer at a time, so numbers are assigned in commit
order. A batch's rows are found through ``json_each`` of its ids and written statement by
statement (``executemany``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from orchestrator.storage._area_records import (
    MAX_LIST_LIMIT,
    Existing,
    Outcomes,
    Page,
    RecordsArea,
    clears_mark,
    scope_key,
)
from orchestrator.storage._areas import RecordIn, RecordScope
from orchestrator.storage._rows import Row, dumps
from orchestrator.storage._sqlite_base import SqliteBase

__all__ = ["MAX_LIST_LIMIT", "RecordWrites", "RecordsMixin", "scope_key"]

_SELECT_EXISTING = """
SELECT record_id, content_hash, deleted_at, delete_mark, NULL AS json FROM records
WHERE connection_pk = ? AND model = ? AND variant = ?
    AND record_id IN (SELECT value FROM json_each(?))
"""
_SELECT_EXISTING_JSON = """
SELECT record_id, content_hash, deleted_at, delete_mark, json FROM records
WHERE connection_pk = ? AND model = ? AND variant = ?
    AND record_id IN (SELECT value FROM json_each(?))
"""
_COUNT_STORED = """
SELECT count(*) FROM records
WHERE connection_pk = ? AND model = ? AND variant = ?
    AND record_id IN (SELECT value FROM json_each(?))
"""
_IS_STORED = """
SELECT 1 FROM records WHERE connection_pk = ? AND model = ? AND variant = ? AND record_id = ?
"""
_SELECT_SAVE_ROWS = """
SELECT j.value ->> 0 AS record_id, r.content_hash, r.deleted_at, r.delete_mark, NULL AS json
FROM json_each(?) AS j LEFT JOIN records AS r
    ON r.connection_pk = ? AND r.model = ? AND r.variant = ? AND r.record_id = j.value ->> 0
WHERE r.content_hash IS NOT j.value ->> 1 OR r.deleted_at IS NOT NULL
    OR r.delete_mark IS NOT NULL
"""
# Hashes first: the live rows among a batch's ids, their hashes compared in Python (a join of
# [id, hash] pairs reads each pair's JSON twice a row: 3-4 times slower for 1,000 records).
# The batch's ids drive the join (CROSS JOIN keeps json_each the outer loop): one probe of
# the unique index a claim.
_SELECT_LIVE = """
SELECT r.record_id, r.content_hash, length(r.json), r.delete_mark IS NOT NULL
FROM json_each(?) AS j CROSS JOIN records AS r
    ON r.connection_pk = ? AND r.model = ? AND r.variant = ? AND r.record_id = j.value
WHERE r.deleted_at IS NULL
"""
_SELECT_BY_IDS = """
SELECT * FROM records
WHERE connection_pk = ? AND model = ? AND variant = ?
    AND record_id IN (SELECT value FROM json_each(?))
"""
_INSERT_RECORD = """
INSERT INTO records (connection_pk, model, variant, record_id, json, content_hash,
    first_seen_at, last_modified_at, last_action, cursor)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ADDED', ?)
"""
_UPDATE_RECORD = """
UPDATE records SET json = ?, content_hash = ?, last_modified_at = ?, last_action = 'UPDATED',
    deleted_at = NULL, cursor = ?, delete_mark = NULL
WHERE connection_pk = ? AND model = ? AND variant = ? AND record_id = ?
"""
_DELETE_RECORD = """
UPDATE records SET deleted_at = ?, last_modified_at = ?, last_action = 'DELETED', cursor = ?,
    delete_mark = NULL
WHERE connection_pk = ? AND model = ? AND variant = ? AND record_id = ?
"""
_UNMARK_RECORD = """
UPDATE records SET delete_mark = NULL
WHERE connection_pk = ? AND model = ? AND variant = ? AND record_id = ?
"""
_RESERVE_CURSORS = """
UPDATE counters SET value = value + ? WHERE name = 'record_cursor' RETURNING value
"""
_SELECT_RUN_TRACKINGS = """
SELECT id, connection_pk, model, variant FROM delete_trackings WHERE run_id = ?
"""
_UNMARK_TRACKING = """
UPDATE records SET delete_mark = NULL
WHERE connection_pk = ? AND model = ? AND variant = ? AND delete_mark = ?
"""
_LIST = """
SELECT * FROM records
WHERE connection_pk = ? AND model = ? AND variant = ? AND cursor > ?
    AND (? IS NULL OR last_modified_at >= ?)
    AND last_action IN (SELECT value FROM json_each(?))
ORDER BY cursor LIMIT ?
"""


class RecordWrites(SqliteBase):
    """Writes shared by records, deletion tracking and runs: scopes, soft deletes, change
    cursors and the marks of runs' trackings. The write transaction is the one writer of every
    scope, so nothing here locks."""

    def _scope_pk(self, conn: sqlite3.Connection, scope: RecordScope) -> int:
        return self._connection_pk(conn, scope.env_id, scope.connection_id)

    def _lock_all_records(self, conn: sqlite3.Connection) -> None:
        pass

    def _drop_run_trackings(self, conn: sqlite3.Connection, run_ids: Sequence[str]) -> None:
        for run_id in run_ids:
            trackings = conn.execute(_SELECT_RUN_TRACKINGS, (run_id,)).fetchall()
            for tracking_id, connection_pk, model, variant in trackings:
                conn.execute(_UNMARK_TRACKING, (connection_pk, model, variant, tracking_id))
            conn.execute("DELETE FROM delete_trackings WHERE run_id = ?", (run_id,))

    def _soft_delete(
        self, conn: sqlite3.Connection, pk: int, scope: RecordScope, ids: list[str]
    ) -> None:
        now = self._now()
        conn.executemany(
            _DELETE_RECORD,
            [
                (now, now, cursor, *scope_key(pk, scope), record_id)
                for record_id, cursor in zip(
                    ids, self._reserve_cursors(conn, len(ids)), strict=True
                )
            ],
        )

    def _reserve_cursors(self, conn: sqlite3.Connection, count: int) -> range:
        if count == 0:
            return range(0)
        row = conn.execute(_RESERVE_CURSORS, (count,)).fetchone()
        last = int(row[0])
        return range(last - count + 1, last + 1)


class RecordsMixin(RecordWrites, RecordsArea[sqlite3.Connection]):
    """Records: ``orchestrator.storage._areas.RecordStore``."""

    def _lock_known_scope(self, conn: sqlite3.Connection, scope: RecordScope) -> int | None:
        return None  # the write transaction is the one writer of every scope

    def _existing_rows(
        self,
        conn: sqlite3.Connection,
        pk: int,
        scope: RecordScope,
        ids: list[str],
        with_json: bool,
    ) -> list[Row]:
        statement = _SELECT_EXISTING_JSON if with_json else _SELECT_EXISTING
        return self._fetch_all(conn, statement, (*scope_key(pk, scope), dumps(ids)))

    def _save_rows(
        self, conn: sqlite3.Connection, pk: int, scope: RecordScope, records: list[RecordIn]
    ) -> list[Row]:
        # The hashes are compared in SQL (a join of the batch, [[id, hash], ...], to the model);
        # a batch none of whose ids is stored, counted first by the cheaper lookup of its ids,
        # skips the join (measured: the join costs most when it returns every row). When the
        # batch's first id is stored (a sync saving again), the count would not be 0: skipped.
        key = scope_key(pk, scope)
        if not records:
            return []
        if (
            conn.execute(_IS_STORED, (*key, records[0].id)).fetchone() is None
            and conn.execute(_COUNT_STORED, (*key, dumps([r.id for r in records]))).fetchone()[0]
            == 0
        ):
            return [{"record_id": record.id, "content_hash": None} for record in records]
        pairs = dumps([[record.id, record.content_hash] for record in records])
        return self._fetch_all(conn, _SELECT_SAVE_ROWS, (pairs, *key))

    def _held(
        self,
        conn: sqlite3.Connection,
        pk: int,
        scope: RecordScope,
        claims: Sequence[tuple[str, str]],
    ) -> dict[str, tuple[int, bool]]:
        hashes = dict(claims)
        ids = dumps(list(hashes))
        rows = conn.execute(_SELECT_LIVE, (ids, *scope_key(pk, scope))).fetchall()
        return {i: (size, bool(marked)) for i, found, size, marked in rows if hashes[i] == found}

    def _rows_by_id(
        self, conn: sqlite3.Connection, pk: int, scope: RecordScope, ids: list[str]
    ) -> list[Row]:
        return self._fetch_all(conn, _SELECT_BY_IDS, (*scope_key(pk, scope), dumps(ids)))

    def _page_rows(self, conn: sqlite3.Connection, page: Page) -> list[Row]:
        key = (page.pk, page.model, page.variant, page.after)
        arguments = (*key, page.since, page.since, dumps(page.actions), page.limit)
        return self._fetch_all(conn, _LIST, arguments)

    def _apply_saves(
        self,
        conn: sqlite3.Connection,
        pk: int,
        scope: RecordScope,
        outcomes: Outcomes,
        existing: dict[str, Existing],
    ) -> None:
        now, key = self._now(), scope_key(pk, scope)
        changed = [(record, outcome) for record, outcome in outcomes if outcome != "unchanged"]
        cursors = self._reserve_cursors(conn, len(changed))
        conn.executemany(
            _INSERT_RECORD,
            [
                (*key, record.id, record.json, record.content_hash, now, now, cursor)
                for (record, outcome), cursor in zip(changed, cursors, strict=True)
                if outcome == "inserted"
            ],
        )
        conn.executemany(
            _UPDATE_RECORD,
            [
                (record.json, record.content_hash, now, cursor, *key, record.id)
                for (record, outcome), cursor in zip(changed, cursors, strict=True)
                if outcome != "inserted"
            ],
        )
        if any(found.marked for found in existing.values()):  # a deletion tracking runs
            seen = [r.id for r, outcome in outcomes if clears_mark(outcome, existing, r)]
            conn.executemany(_UNMARK_RECORD, [(*key, record_id) for record_id in seen])
