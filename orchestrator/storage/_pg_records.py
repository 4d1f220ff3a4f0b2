"""The PostgreSQL engine's records (deletion tracking is in ``_pg_tracking``).

The semantics are ``_area_records``'s. Every change (add, update, delete, un-delete) takes
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
from collections.abc import Sequence
from itertools import accumulate

from psycopg.rows import tuple_row

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
from orchestrator.storage._pg_base import PgConnection, PostgresBase
from orchestrator.storage._rows import Row, dumps

__all__ = [
    "MAX_LIST_LIMIT",
    "RecordWrites",
    "RecordsMixin",
    "lock_records",
    "lock_scope",
    "scope_key",
]

# A batch's rows are found by joining its ids (unnest) to the model's rows: a hash join over
# the model or a loop of unique-key lookups, as the row estimates say (kept fresh while a large
# sync writes: ``orchestrator.storage._fresh_statistics``). These statements are
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
# A save's rows: the model's rows among the batch's ids (``record_id = ANY``: descents of the
# unique key, or at worst one pass over the scope when the planner thinks the table small),
# joined to the batch's hashes. It measured 2-3 times faster than the lateral join above once
# a scope held 20,000 records (a hash join of the whole scope per batch), and as fast on new
# records.
_SELECT_SAVE_ROWS = """
SELECT u.record_id, r.content_hash, r.deleted_at, r.delete_mark, NULL AS json
FROM unnest(%s::text[], %s::text[]) AS u(record_id, content_hash) LEFT JOIN (
    SELECT record_id, content_hash, deleted_at, delete_mark FROM records
    WHERE connection_pk = %s AND model = %s AND variant = %s AND record_id = ANY(%s::text[])
) AS r ON r.record_id = u.record_id
WHERE r.content_hash IS DISTINCT FROM u.content_hash OR r.deleted_at IS NOT NULL
    OR r.delete_mark IS NOT NULL
"""
# Hashes first: the claims stored live with their hash, found as a save's rows are.
_SELECT_MATCHED = """
SELECT r.record_id, r.delete_mark IS NOT NULL, octet_length(r.json)
FROM unnest(%s::text[], %s::text[]) AS u(record_id, content_hash) JOIN (
    SELECT record_id, content_hash, deleted_at, delete_mark, json FROM records
    WHERE connection_pk = %s AND model = %s AND variant = %s AND record_id = ANY(%s::text[])
) AS r ON r.record_id = u.record_id AND r.content_hash = u.content_hash
WHERE r.deleted_at IS NULL
"""
_SELECT_BY_IDS = "SELECT r.*" + _BY_IDS
# New records are inserted plainly (the scope's lock, held since their ids were looked up,
# keeps anyone else from adding them meanwhile): 15-20 % faster than the upsert, which changed
# and un-deleted records take.
_INSERT_RECORDS = """
INSERT INTO records AS r (connection_pk, model, variant, record_id, json, content_hash,
    first_seen_at, last_modified_at, last_action, cursor)
SELECT %(pk)s, %(model)s, %(variant)s, u.record_id,
    substring(%(jsons)s::bytea FROM u.start::int FOR u.size::int), u.content_hash,
    %(now)s, %(now)s, 'ADDED', u.cursor
FROM unnest(%(ids)s::text[], %(hashes)s::text[], %(starts)s::bigint[], %(sizes)s::bigint[],
    %(cursors)s::bigint[]) AS u(record_id, content_hash, start, size, cursor)
"""
_UPSERT_RECORDS = (
    _INSERT_RECORDS
    + """ON CONFLICT (connection_pk, model, variant, record_id) DO UPDATE SET
    json = EXCLUDED.json, content_hash = EXCLUDED.content_hash,
    last_modified_at = EXCLUDED.last_modified_at, last_action = 'UPDATED', deleted_at = NULL,
    cursor = EXCLUDED.cursor, delete_mark = NULL
"""
)
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
# A batch's columns go as array literals made by one C call (the JSON encoder's text of a list
# is the literal when no element holds a character that either would escape), and its records'
# bytes as one bytea cut by offsets: psycopg dumps a list parameter element by element in Python
# (3-4 ms for 1,000 hashes or records, against 0.1 ms).
# One row: the drawn numbers' range, and the numbers themselves only when another writer drew
# between them (a run of 1,000 rows back to Python took 1.5 ms).
_DRAW_CURSORS = """
SELECT min(value) AS first, max(value) AS last,
    CASE WHEN max(value) - min(value) + 1 = count(*) THEN NULL
        ELSE array_agg(value ORDER BY value) END AS scattered
FROM (SELECT nextval('record_cursors') AS value FROM generate_series(1, %s)) AS drawn
"""
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


def text_array(values: list[str] | list[int]) -> str | list[str] | list[int]:
    """``values`` as the text of a PostgreSQL array (``{"a","b"}``, ``{1,2}``) when none needs
    escaping there, else as they are (psycopg dumps them)."""
    text = dumps(values)
    return values if "\\" in text else "{" + text[1:-1] + "}"


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


class RecordWrites(PostgresBase):
    """Writes shared by records, deletion tracking and runs: scope locks, soft deletes, change
    cursors and the marks of runs' trackings."""

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

    def _lock_all_records(self, conn: PgConnection) -> None:
        lock_records(conn)

    def _drop_run_trackings(self, conn: PgConnection, run_ids: Sequence[str]) -> None:
        """Drops every deletion tracking of the runs and its marks, in two statements whatever
        the number of runs; the caller holds the record writers' lock."""
        if not run_ids:
            return
        conn.execute(
            "UPDATE records r SET delete_mark = NULL FROM delete_trackings t"
            " WHERE t.run_id = ANY(%(runs)s) AND r.connection_pk = t.connection_pk"
            " AND r.model = t.model AND r.variant = t.variant AND r.delete_mark = t.id",
            {"runs": list(run_ids)},
        )
        conn.execute("DELETE FROM delete_trackings WHERE run_id = ANY(%s)", (list(run_ids),))

    def _scope_pk(self, conn: PgConnection, scope: RecordScope) -> int:
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
        (row,) = conn.execute(_DRAW_CURSORS, (count,)).fetchall()
        if row["scattered"] is not None:
            return sorted(int(value) for value in row["scattered"])
        return list(range(int(row["first"]), int(row["last"]) + 1))


class RecordsMixin(RecordWrites, RecordsArea[PgConnection]):
    """Records: ``orchestrator.storage._areas.RecordStore``."""

    def _lock_known_scope(self, conn: PgConnection, scope: RecordScope) -> int | None:
        row = conn.execute(
            "SELECT id FROM connections WHERE env_id = %s AND connection_id = %s",
            (scope.env_id, scope.connection_id),
        ).fetchone()
        if row is None:
            return None
        pk = int(row["id"])
        lock_scope(conn, pk, scope.model, scope.variant)
        return pk

    def _existing_rows(
        self, conn: PgConnection, pk: int, scope: RecordScope, ids: list[str], with_json: bool
    ) -> list[Row]:
        statement = _SELECT_EXISTING_JSON if with_json else _SELECT_EXISTING
        return list(conn.execute(statement, (ids, *scope_key(pk, scope)), prepare=False))

    def _save_rows(
        self, conn: PgConnection, pk: int, scope: RecordScope, records: list[RecordIn]
    ) -> list[Row]:
        arguments = _pair_arguments(pk, scope, [(r.id, r.content_hash) for r in records])
        return list(conn.execute(_SELECT_SAVE_ROWS, arguments, prepare=False).fetchall())

    def _held(
        self,
        conn: PgConnection,
        pk: int,
        scope: RecordScope,
        claims: Sequence[tuple[str, str]],
    ) -> dict[str, tuple[int, bool]]:
        # Plain tuples, fetched at once: a batch held whole is 1,000 rows, which psycopg's
        # dict rows read one by one took 3 ms of.
        with conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(_SELECT_MATCHED, _pair_arguments(pk, scope, claims), prepare=False)
            rows = cursor.fetchall()
        return {record_id: (int(size), bool(marked)) for record_id, marked, size in rows}

    def _rows_by_id(
        self, conn: PgConnection, pk: int, scope: RecordScope, ids: list[str]
    ) -> list[Row]:
        return list(conn.execute(_SELECT_BY_IDS, (ids, *scope_key(pk, scope)), prepare=False))

    def _page_rows(self, conn: PgConnection, page: Page) -> list[Row]:
        arguments = {
            "pk": page.pk,
            "model": page.model,
            "variant": page.variant,
            "after": page.after,
            "since": page.since,
            "actions": page.actions,
            "limit": page.limit,
        }
        return list(conn.execute(_LIST, arguments).fetchall())

    def _apply_saves(
        self,
        conn: PgConnection,
        pk: int,
        scope: RecordScope,
        outcomes: Outcomes,
        existing: dict[str, Existing],
    ) -> None:
        """Writes a batch's outcomes: one insert for the new records, one upsert for the
        changed and un-deleted ones, one update for the marks."""
        changed = [(record, outcome) for record, outcome in outcomes if outcome != "unchanged"]
        if changed:
            self._records_analyzer.wrote(len(changed))
            now, cursors = self._now(), self._draw_cursors(conn, len(changed))
            numbered = list(zip(changed, cursors, strict=True))  # in the batch's order
            for statement, writes in (
                (
                    _INSERT_RECORDS,
                    [(r, c) for (r, outcome), c in numbered if outcome == "inserted"],
                ),
                (
                    _UPSERT_RECORDS,
                    [(r, c) for (r, outcome), c in numbered if outcome != "inserted"],
                ),
            ):
                if writes:
                    conn.execute(statement, _write_columns(pk, scope, now, writes), binary=True)
        seen = (
            [r.id for r, outcome in outcomes if clears_mark(outcome, existing, r)]
            if any(found.marked for found in existing.values())  # a deletion tracking runs
            else []
        )
        if seen:
            conn.execute(_UNMARK_RECORDS, (seen, *scope_key(pk, scope)), prepare=False)


def _pair_arguments(
    pk: int, scope: RecordScope, pairs: Sequence[tuple[str, str]]
) -> tuple[object, ...]:
    """The parameters of ``_SELECT_SAVE_ROWS`` or ``_SELECT_MATCHED`` for (id, content hash)
    pairs: the ids and the hashes as arrays, the scope's key and the ids again."""
    ids = text_array([record_id for record_id, _ in pairs])
    hashes = text_array([content_hash for _, content_hash in pairs])
    return (ids, hashes, *scope_key(pk, scope), ids)


def _write_columns(
    pk: int, scope: RecordScope, now: object, writes: list[tuple[RecordIn, int]]
) -> dict[str, object]:
    """The parameters of ``_INSERT_RECORDS`` or ``_UPSERT_RECORDS`` for records and their
    change numbers."""
    sizes = [len(record.json) for record, _ in writes]
    return {
        "pk": pk,
        "model": scope.model,
        "variant": scope.variant,
        "now": now,
        "ids": text_array([record.id for record, _ in writes]),
        "jsons": b"".join(record.json for record, _ in writes),
        "starts": text_array(list(accumulate(sizes[:-1], initial=1))),  # 1-based offsets
        "sizes": text_array(sizes),
        "hashes": text_array([record.content_hash for record, _ in writes]),
        "cursors": text_array([cursor for _, cursor in writes]),
    }
