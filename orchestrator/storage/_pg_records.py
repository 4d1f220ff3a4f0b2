"""The PostgreSQL engine's records (deletion tracking is in ``_pg_tracking``).

The same semantics as ``_sqlite_records``. Every change (add, update, delete, un-delete) takes
a new number from the ``record_cursors`` sequence, which takes no lock.

Locking. A reader pages one (connection, model, variant) scope by cursor, so what matters is
that within one scope numbers are assigned in commit order: a change that commits later must
never get a smaller number than one a reader has already passed. Every transaction that writes
a scope's records first takes that scope's advisory lock (``lock_scope``,
``pg_advisory_xact_lock``) and holds it to its commit, and draws its numbers under it: writers
of one scope take turns (as every writer does on SQLite), so the scope's numbers grow in commit
order, a reader paging by cursor skips nothing and sees no change twice, and two runs updating
one record lose no update (each reads the record after the other's commit). Writers of
different scopes run at once. A transaction that clears deletion marks across scopes
(``lock_records``) takes the shared key exclusively; every scope writer holds it shared.

Writes go in bulk: one multi-row upsert (``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
UPDATE``) for a batch's added, changed and un-deleted records, one ``UPDATE ... FROM unnest``
for its soft deletes and one for its deletion marks, whatever the batch's size.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corral._budgets import Budgets, check_record, check_run_records
from corral.errors import InvalidRequest, PermissionDenied
from orchestrator.storage._areas import (
    ALL_RECORD_FILTERS,
    RecordCounts,
    RecordIn,
    RecordScope,
    StoredRecord,
)
from orchestrator.storage._pg_base import PgConnection, PostgresBase, utc
from orchestrator.storage._records import (
    SaveOutcome,
    classify_save,
    content_hash,
    decode_cursor,
    encode_cursor,
    filter_actions,
    last_wins,
    merge_record,
)
from orchestrator.storage._sqlite_records import MAX_LIST_LIMIT

__all__ = [
    "MAX_LIST_LIMIT",
    "RecordWrites",
    "RecordsMixin",
    "lock_records",
    "lock_scope",
    "scope_key",
]

# A batch's rows are found by joining its ids (unnest) to the model's rows: a hash join over
# the model or a loop of unique-key lookups, as the row estimates say. These statements are
# never prepared (``prepare=False``): a plan psycopg prepared while a model was small would
# stay in use once it is large; a plan made per call sees the table's real size.
_BY_IDS = """
FROM unnest(%s::text[]) AS u(record_id) CROSS JOIN LATERAL (
    SELECT * FROM records
    WHERE connection_pk = %s AND model = %s AND variant = %s AND record_id = u.record_id
) AS r
"""
_SELECT_EXISTING = (
    "SELECT r.record_id, r.content_hash, r.deleted_at, r.delete_mark, NULL AS json" + _BY_IDS
)
_SELECT_EXISTING_JSON = (
    "SELECT r.record_id, r.content_hash, r.deleted_at, r.delete_mark, r.json" + _BY_IDS
)
_SELECT_LIVE_JSON = "SELECT r.record_id, r.json" + _BY_IDS + "WHERE r.deleted_at IS NULL"
_UPSERT_RECORDS = """
INSERT INTO records AS r (connection_pk, model, variant, record_id, json, content_hash,
    first_seen_at, last_modified_at, last_action, cursor)
SELECT %(pk)s, %(model)s, %(variant)s, u.record_id, u.json, u.content_hash, %(now)s, %(now)s,
    'ADDED', u.cursor
FROM unnest(%(ids)s::text[], %(jsons)s::bytea[], %(hashes)s::text[], %(cursors)s::bigint[])
    AS u(record_id, json, content_hash, cursor)
ON CONFLICT (connection_pk, model, variant, record_id) DO UPDATE SET
    json = EXCLUDED.json, content_hash = EXCLUDED.content_hash,
    last_modified_at = EXCLUDED.last_modified_at, last_action = 'UPDATED', deleted_at = NULL,
    cursor = EXCLUDED.cursor, delete_mark = NULL
"""
_DELETE_RECORDS = """
UPDATE records r SET deleted_at = %(now)s, last_modified_at = %(now)s, last_action = 'DELETED',
    cursor = d.cursor, delete_mark = NULL
FROM (
    SELECT found.id, u.cursor
    FROM unnest(%(ids)s::text[], %(cursors)s::bigint[]) AS u(record_id, cursor)
    CROSS JOIN LATERAL (
        SELECT id FROM records
        WHERE connection_pk = %(pk)s AND model = %(model)s AND variant = %(variant)s
            AND record_id = u.record_id
    ) AS found
) AS d
WHERE r.id = d.id
"""
_UNMARK_RECORDS = """
UPDATE records SET delete_mark = NULL WHERE id IN (
    SELECT r.id FROM unnest(%s::text[]) AS u(record_id) CROSS JOIN LATERAL (
        SELECT id FROM records
        WHERE connection_pk = %s AND model = %s AND variant = %s AND record_id = u.record_id
    ) AS r
)
"""
_DRAW_CURSORS = "SELECT nextval('record_cursors') AS value FROM generate_series(1, %s)"
_LIST = """
SELECT * FROM records
WHERE connection_pk = %(pk)s AND model = %(model)s AND variant = %(variant)s
    AND cursor > %(after)s
    AND (%(since)s::timestamptz IS NULL OR last_modified_at >= %(since)s)
    AND last_action = ANY(%(actions)s)
ORDER BY cursor LIMIT %(limit)s
"""


RECORDS_LOCK = zlib.crc32(b"corral.records")
"""The advisory lock key every record writer holds shared, and ``lock_records`` exclusively."""

_SCOPE_LOCKS = zlib.crc32(b"corral.records.scope") - 2**31
"""The first key of the two-key advisory locks of scopes (the second is a hash of the scope)."""


def lock_records(conn: PgConnection) -> None:
    """Makes the transaction the one record writer of every scope until it ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (RECORDS_LOCK,))


def lock_scope(conn: PgConnection, pk: int, model: str, variant: str) -> None:
    """Makes the transaction the one record writer of the scope until it ends.

    Other scopes' writers go on; a hash collision of two scopes only makes them take turns.
    """
    digest = hashlib.blake2b(f"{pk}\0{model}\0{variant}".encode(), digest_size=4).digest()
    conn.execute(
        "SELECT pg_advisory_xact_lock_shared(%s), pg_advisory_xact_lock(%s, %s)",
        (RECORDS_LOCK, _SCOPE_LOCKS, int.from_bytes(digest, "big", signed=True)),
    )


@dataclass(frozen=True)
class _Existing:
    content_hash: str
    deleted: bool
    marked: bool
    json: bytes = b""


class RecordWrites(PostgresBase):
    """Writes shared by records and deletion tracking: soft deletes and change cursors."""

    def _soft_delete(self, conn: PgConnection, pk: int, scope: RecordScope, ids: list[str]) -> None:
        """Soft-deletes ``ids`` in one statement; the caller holds the scope's lock."""
        if not ids:
            return
        conn.execute(
            _DELETE_RECORDS,
            {
                "now": self._now(),
                "ids": ids,
                "cursors": self._draw_cursors(conn, len(ids)),
                "pk": pk,
                "model": scope.model,
                "variant": scope.variant,
            },
            prepare=False,
        )

    def _locked_pk(self, conn: PgConnection, scope: RecordScope) -> int:
        """The scope's connection pk, with the scope locked until the transaction ends.

        Raises:
            NotFound: code ``unknown_connection``.
        """
        pk = self._connection_pk(conn, scope.env_id, scope.connection_id)
        lock_scope(conn, pk, scope.model, scope.variant)
        return pk

    def _draw_cursors(self, conn: PgConnection, count: int) -> list[int]:
        """``count`` new change numbers, in increasing order; the caller holds the scope's lock."""
        if count == 0:
            return []
        rows = conn.execute(_DRAW_CURSORS, (count,)).fetchall()
        return sorted(int(row["value"]) for row in rows)


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
            # The scope's lock comes before the run's row, in every writer: no deadlock.
            found = self._lock_scope(conn, scope)
            if budgets is not None:
                self._charge(conn, scope.run_id, [(r.id, r.json) for r in unique], budgets, True)
            pk = found if found is not None else self._locked_pk(conn, scope)
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
            pk = self._locked_pk(conn, scope)
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
            pk = self._locked_pk(conn, scope)
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
            rows = conn.execute(
                _SELECT_LIVE_JSON, (list(ids), *scope_key(pk, scope)), prepare=False
            ).fetchall()
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
        with self._read() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            rows = conn.execute(
                _LIST,
                {
                    "pk": pk,
                    "model": model,
                    "variant": variant,
                    "after": after,
                    "since": modified_after,
                    "actions": list(actions),
                    "limit": limit + 1,
                },
            ).fetchall()
        page = [_stored(row) for row in rows[:limit]]
        return page, page[-1].cursor if len(rows) > limit else ""

    # ---- helpers ----

    def _lock_scope(self, conn: PgConnection, scope: RecordScope) -> int | None:
        """The scope's connection pk, its scope locked; None (nothing locked) when unknown."""
        row = conn.execute(
            "SELECT id FROM connections WHERE env_id = %s AND connection_id = %s",
            (scope.env_id, scope.connection_id),
        ).fetchone()
        if row is None:
            return None
        pk = int(row["id"])
        lock_scope(conn, pk, scope.model, scope.variant)
        return pk

    def _existing(
        self,
        conn: PgConnection,
        pk: int,
        scope: RecordScope,
        ids: list[str],
        *,
        with_json: bool = False,
    ) -> dict[str, _Existing]:
        rows = conn.execute(
            _SELECT_EXISTING_JSON if with_json else _SELECT_EXISTING,
            (ids, *scope_key(pk, scope)),
            prepare=False,
        ).fetchall()
        return {
            row["record_id"]: _Existing(
                row["content_hash"],
                row["deleted_at"] is not None,
                row["delete_mark"] is not None,
                bytes(row["json"] or b""),
            )
            for row in rows
        }

    def _apply_saves(
        self,
        conn: PgConnection,
        pk: int,
        scope: RecordScope,
        outcomes: list[tuple[RecordIn, SaveOutcome]],
        existing: dict[str, _Existing],
    ) -> None:
        """Writes a batch's outcomes: one upsert for the changed records, one for the marks."""
        changed = [record for record, outcome in outcomes if outcome != "unchanged"]
        if changed:
            conn.execute(
                _UPSERT_RECORDS,
                {
                    "pk": pk,
                    "model": scope.model,
                    "variant": scope.variant,
                    "now": self._now(),
                    "ids": [record.id for record in changed],
                    "jsons": [record.json for record in changed],
                    "hashes": [record.content_hash for record in changed],
                    "cursors": self._draw_cursors(conn, len(changed)),
                },
                binary=True,
            )
        seen = [
            record.id for record, outcome in outcomes if _clears_mark(outcome, existing, record)
        ]
        if seen:
            conn.execute(_UNMARK_RECORDS, (seen, *scope_key(pk, scope)), prepare=False)

    def _charge(
        self,
        conn: PgConnection,
        run_id: str,
        records: list[tuple[str, bytes]],
        budgets: Budgets,
        count: bool,
    ) -> None:
        """Charges records to the run's budgets, or raises before anything is written."""
        for record_id, data in records:
            check_record(record_id, data, budgets)
        row = conn.execute(
            "SELECT state, records_saved, record_bytes FROM runs WHERE run_id = %s"
            " FOR NO KEY UPDATE",
            (run_id,),
        ).fetchone()
        if row is None:
            return
        if row["state"] not in ("queued", "running"):
            raise PermissionDenied("the run has ended; it stores nothing more", code="run_ended")
        adding, adding_bytes = len(records) if count else 0, sum(len(d) for _, d in records)
        check_run_records(
            int(row["records_saved"]), int(row["record_bytes"]), adding, adding_bytes, budgets
        )
        conn.execute(
            "UPDATE runs SET records_saved = records_saved + %s,"
            " record_bytes = record_bytes + %s WHERE run_id = %s",
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


def _stored(row: Mapping[str, Any]) -> StoredRecord:
    return StoredRecord(
        id=row["record_id"],
        json=bytes(row["json"]),
        first_seen_at=utc(row["first_seen_at"]),
        last_modified_at=utc(row["last_modified_at"]),
        last_action=row["last_action"],
        deleted_at=None if row["deleted_at"] is None else utc(row["deleted_at"]),
        cursor=encode_cursor(int(row["cursor"])),
    )
