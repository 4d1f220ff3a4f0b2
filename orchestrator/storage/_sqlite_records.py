"""The SQLite engine's records (deletion tracking is in ``_sqlite_tracking``).

A record is keyed by (connection, model, variant, record id); the connection row belongs to one
environment, so nothing crosses environments. Every change (add, update, delete, un-delete)
takes the next number of the ``record_cursor`` counter; SQLite has one writer at a time, so
numbers are assigned in commit order and a reader paging by cursor misses nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from corral._budgets import Budgets, check_record, check_run_records
from corral.errors import InvalidRequest, PermissionDenied
from orchestrator.storage._areas import (
    ALL_RECORD_FILTERS,
    RecordCounts,
    RecordIn,
    RecordScope,
    StoredRecord,
)
from orchestrator.storage._records import (
    SaveOutcome,
    classify_save,
    content_hash,
    decode_cursor,
    encode_cursor,
    filter_actions,
    from_rfc3339,
    last_wins,
    merge_record,
    to_rfc3339,
)
from orchestrator.storage._sqlite_base import SqliteBase, dumps, timestamp

MAX_LIST_LIMIT = 10_000
"""The largest page ``list_records`` returns."""

_SELECT_EXISTING = """
SELECT record_id, content_hash, deleted_at, delete_mark, NULL FROM records
WHERE connection_pk = ? AND model = ? AND variant = ?
    AND record_id IN (SELECT value FROM json_each(?))
"""
_SELECT_EXISTING_JSON = """
SELECT record_id, content_hash, deleted_at, delete_mark, json FROM records
WHERE connection_pk = ? AND model = ? AND variant = ?
    AND record_id IN (SELECT value FROM json_each(?))
"""
_SELECT_LIVE_JSON = """
SELECT record_id, json FROM records
WHERE connection_pk = ? AND model = ? AND variant = ?
    AND record_id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL
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
_LIST = """
SELECT * FROM records
WHERE connection_pk = ? AND model = ? AND variant = ? AND cursor > ?
    AND (? IS NULL OR last_modified_at >= ?)
    AND last_action IN (SELECT value FROM json_each(?))
ORDER BY cursor LIMIT ?
"""


@dataclass(frozen=True)
class _Existing:
    content_hash: str
    deleted: bool
    marked: bool
    json: bytes = b""


class RecordWrites(SqliteBase):
    """Writes shared by records and deletion tracking: soft deletes and change cursors."""

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


class RecordsMixin(RecordWrites):
    """Records: ``orchestrator.storage._areas.RecordStore``."""

    def save_records(
        self, scope: RecordScope, records: Sequence[RecordIn], budgets: Budgets | None = None
    ) -> RecordCounts:
        """Upserts records in one transaction.

        A new id is added (ADDED). A changed content hash updates the record (UPDATED). A
        deleted record saved again comes back: it counts as added, keeps ``first_seen_at`` and
        shows ``last_action`` UPDATED (as Nango does). The same hash on a live record changes
        nothing at all, not ``last_modified_at`` nor the cursor, but counts as seen by a running
        deletion tracking. When the batch holds an id twice, the last one wins.

        With ``budgets``, the batch is charged to the run (``scope.run_id``): each record at
        most ``record_bytes``, the run's records at most ``records_per_run`` and
        ``record_bytes_per_run``.

        Raises:
            InvalidRequest: a record id is empty (nothing is saved).
            NotFound: code ``unknown_connection``.
            ResourceExhausted: a budget would be exceeded (nothing of the batch is saved).
        """
        unique = last_wins(records)
        if any(not record.id for record in unique):
            raise InvalidRequest("a record id must not be empty", code="invalid_sync_record")
        with self._write() as conn:
            if budgets is not None:
                self._charge(conn, scope.run_id, [(r.id, r.json) for r in unique], budgets, True)
            pk = self._connection_pk(conn, scope.env_id, scope.connection_id)
            existing = self._existing(conn, pk, scope, [record.id for record in unique])
            outcomes = [(record, _outcome(existing.get(record.id), record)) for record in unique]
            self._apply_saves(conn, pk, scope, outcomes, existing)
        return _save_counts([outcome for _, outcome in outcomes])

    def delete_records(self, scope: RecordScope, ids: Sequence[str]) -> RecordCounts:
        """Soft-deletes records: ``deleted_at`` set, last_action DELETED, a new cursor.

        Unknown and already deleted ids change nothing; they count as unchanged.
        """
        unique = list(dict.fromkeys(ids))
        with self._write() as conn:
            pk = self._connection_pk(conn, scope.env_id, scope.connection_id)
            existing = self._existing(conn, pk, scope, unique)
            alive = [record_id for record_id in unique if _alive(existing.get(record_id))]
            self._soft_delete(conn, pk, scope, alive)
        return RecordCounts(deleted=len(alive), unchanged=len(unique) - len(alive))

    def update_records(
        self,
        scope: RecordScope,
        patches: Sequence[tuple[str, bytes]],
        budgets: Budgets | None = None,
    ) -> RecordCounts:
        """Deep-merges partial records (JSON objects) into the stored ones.

        Nested objects merge recursively, arrays and other values are replaced, absent fields
        stay. Unknown and deleted ids are ignored. Several patches for one id apply in order.
        A result equal to the stored record changes nothing (but counts as seen by deletion
        tracking).

        Raises:
            InvalidRequest: code ``invalid_json`` for a patch that is not a JSON object.
        """
        with self._write() as conn:
            pk = self._connection_pk(conn, scope.env_id, scope.connection_id)
            ids = list(dict.fromkeys(record_id for record_id, _ in patches))
            existing = self._existing(conn, pk, scope, ids, with_json=True)
            merged = _merge_all(existing, patches)
            if budgets is not None:
                self._charge(conn, scope.run_id, list(merged.items()), budgets, False)
            saves = [RecordIn(i, data, content_hash(data)) for i, data in merged.items()]
            outcomes = [(record, _outcome(existing[record.id], record)) for record in saves]
            self._apply_saves(conn, pk, scope, outcomes, existing)
        counts = _save_counts([outcome for _, outcome in outcomes])
        return RecordCounts(updated=counts.updated, unchanged=counts.unchanged)

    def get_records_by_id(self, scope: RecordScope, ids: Sequence[str]) -> dict[str, bytes]:
        """The JSON of the found records among ``ids``; deleted records count as not found."""
        with self._read() as conn:
            pk = self._connection_pk(conn, scope.env_id, scope.connection_id)
            rows = conn.execute(_SELECT_LIVE_JSON, (*scope_key(pk, scope), dumps(list(ids))))
            return {row["record_id"]: bytes(row["json"]) for row in rows}

    def list_records(
        self,
        env_id: int,
        connection_id: str,
        model: str,
        *,
        variant: str = "",
        cursor: str = "",
        modified_after: datetime | None = None,
        limit: int = 100,
        filter: frozenset[str] = ALL_RECORD_FILTERS,
    ) -> tuple[list[StoredRecord], str]:
        """Records in change order, deleted ones included.

        Args:
            env_id: the environment.
            connection_id: the connection.
            model: the model.
            variant: the variant ("" for the base one).
            cursor: "" for the start, else the cursor of a record or of a page.
            modified_after: only records with ``last_modified_at`` at or after this time.
            limit: the page size, 1 to ``MAX_LIST_LIMIT``.
            filter: the last actions to keep: ``added``, ``updated``, ``deleted``.

        Returns:
            The records and the cursor of the next page, "" when this page is the last.

        Raises:
            InvalidRequest: a bad cursor, filter or limit.
            NotFound: code ``unknown_connection``.
        """
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequest(f"limit must be 1 to {MAX_LIST_LIMIT}", code="invalid_limit")
        after, actions = decode_cursor(cursor), filter_actions(filter)
        since = None if modified_after is None else to_rfc3339(modified_after)
        with self._read() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            arguments = (pk, model, variant, after, since, since, dumps(actions), limit + 1)
            rows = conn.execute(_LIST, arguments).fetchall()
        page = [_stored(row) for row in rows[:limit]]
        return page, page[-1].cursor if len(rows) > limit else ""

    # ---- helpers ----

    def _existing(
        self,
        conn: sqlite3.Connection,
        pk: int,
        scope: RecordScope,
        ids: list[str],
        *,
        with_json: bool = False,
    ) -> dict[str, _Existing]:
        rows = conn.execute(
            _SELECT_EXISTING_JSON if with_json else _SELECT_EXISTING,
            (*scope_key(pk, scope), dumps(ids)),
        ).fetchall()
        return {
            row[0]: _Existing(row[1], row[2] is not None, row[3] is not None, bytes(row[4] or b""))
            for row in rows
        }

    def _apply_saves(
        self,
        conn: sqlite3.Connection,
        pk: int,
        scope: RecordScope,
        outcomes: list[tuple[RecordIn, SaveOutcome]],
        existing: dict[str, _Existing],
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
        seen = [
            record.id for record, outcome in outcomes if _clears_mark(outcome, existing, record)
        ]
        conn.executemany(_UNMARK_RECORD, [(*key, record_id) for record_id in seen])

    def _charge(
        self,
        conn: sqlite3.Connection,
        run_id: str,
        records: list[tuple[str, bytes]],
        budgets: Budgets,
        count: bool,
    ) -> None:
        """Charges records to the run's budgets, or raises before anything is written."""
        for record_id, data in records:
            check_record(record_id, data, budgets)
        row = conn.execute(
            "SELECT state, records_saved, record_bytes FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            return
        if row[0] not in ("queued", "running"):
            raise PermissionDenied("the run has ended; it stores nothing more", code="run_ended")
        adding, adding_bytes = len(records) if count else 0, sum(len(d) for _, d in records)
        check_run_records(int(row[1]), int(row[2]), adding, adding_bytes, budgets)
        conn.execute(
            "UPDATE runs SET records_saved = records_saved + ?, record_bytes = record_bytes + ?"
            " WHERE run_id = ?",
            (adding, adding_bytes, run_id),
        )


def scope_key(pk: int, scope: RecordScope) -> tuple[int, str, str]:
    """The key columns (connection_pk, model, variant) of a scope."""
    return pk, scope.model, scope.variant


def _alive(existing: _Existing | None) -> bool:
    return existing is not None and not existing.deleted


def _outcome(existing: _Existing | None, record: RecordIn) -> SaveOutcome:
    if existing is None:
        return classify_save(None, False, record.content_hash)
    return classify_save(existing.content_hash, existing.deleted, record.content_hash)


def _clears_mark(outcome: SaveOutcome, existing: dict[str, _Existing], record: RecordIn) -> bool:
    found = existing.get(record.id)
    return outcome == "unchanged" and found is not None and found.marked


def _merge_all(
    existing: dict[str, _Existing], patches: Sequence[tuple[str, bytes]]
) -> dict[str, bytes]:
    merged: dict[str, bytes] = {}
    for record_id, patch in patches:
        if _alive(existing.get(record_id)):
            base = merged.get(record_id, existing[record_id].json)
            merged[record_id] = merge_record(base, patch, record_id)
    return merged


def _save_counts(outcomes: list[SaveOutcome]) -> RecordCounts:
    return RecordCounts(
        added=sum(outcome in ("inserted", "undeleted") for outcome in outcomes),
        updated=outcomes.count("changed"),
        unchanged=outcomes.count("unchanged"),
    )


def _stored(row: sqlite3.Row) -> StoredRecord:
    return StoredRecord(
        id=row["record_id"],
        json=bytes(row["json"]),
        first_seen_at=from_rfc3339(row["first_seen_at"]),
        last_modified_at=from_rfc3339(row["last_modified_at"]),
        last_action=row["last_action"],
        deleted_at=timestamp(row["deleted_at"]),
        cursor=encode_cursor(int(row["cursor"])),
    )
