"""Records for every engine (deletion tracking is in each engine's ``_<engine>_tracking``).

A record is keyed by (connection, model, variant, record id); the connection row belongs to one
environment, so nothing crosses environments. Every change (add, update, delete, un-delete)
takes a new change number (its cursor), assigned within a scope in commit order, so a reader
paging by cursor misses nothing and sees no change twice.

``RecordsArea`` implements ``orchestrator.storage._areas.RecordStore`` once: what a save,
delete or patch does to a batch, budgets, and list pages. An engine's ``RecordsMixin`` reads the
batch's rows and writes its outcomes its own way (SQLite statement by statement under its one
writer; PostgreSQL in bulk under the scope's advisory lock).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from corral._budgets import Budgets, check_record, check_run_records
from corral.errors import InvalidRequest, PermissionDenied
from orchestrator._text_values import NUL, all_unicode, names_hold_nul
from orchestrator.storage._engine import C
from orchestrator.storage._records import (
    MAX_RECORD_ID_BYTES,
    SaveOutcome,
    classify_save,
    content_hash,
    decode_cursor,
    filter_actions,
    last_wins,
    merge_record,
)
from orchestrator.storage._rows import Row, stored_record
from orchestrator.storage._run_counts import SELECT_COUNTS, RunCounting
from orchestrator.storage._types import (
    ALL_RECORD_FILTERS,
    RecordCounts,
    RecordIn,
    RecordScope,
    StoredRecord,
)

MAX_LIST_LIMIT = 10_000
"""The largest page ``list_records`` returns."""


@dataclass(frozen=True)
class Existing:
    """What a write needs to know of a stored record."""

    content_hash: str
    deleted: bool
    marked: bool
    """Whether a running deletion tracking marked it."""
    json: bytes = b""
    """Its JSON, when read ``with_json``."""


Outcomes = list[tuple[RecordIn, SaveOutcome]]
"""Each record of a batch with what saving it does."""


def scope_key(pk: int, scope: RecordScope) -> tuple[int, str, str]:
    """The key columns (connection_pk, model, variant) of a scope."""
    return pk, scope.model, scope.variant


@dataclass(frozen=True)
class Page:
    """What one ``list_records`` page selects."""

    pk: int
    model: str
    variant: str
    after: int
    """Only cursors above this."""
    since: object
    """Only records modified at or after this (as the engine binds it), or None."""
    actions: list[str]
    """Only these last actions (``ADDED``, ``UPDATED``, ``DELETED``)."""
    limit: int


class RecordsArea(RunCounting[C]):
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
            InvalidRequest: a record id is empty or holds NUL (nothing is saved).
            NotFound: code ``unknown_connection``.
            ResourceExhausted: a budget would be exceeded (nothing of the batch is saved).
        """
        unique = last_wins(records)
        check_model(scope)
        _check_ids([record.id for record in unique])
        with self._write() as conn:
            # Where the engine locks scopes, the scope's lock comes before the run's row.
            found = self._lock_known_scope(conn, scope)
            if budgets is not None:
                self._charge(conn, scope.run_id, [(r.id, r.json) for r in unique], budgets, True)
            pk = found if found is not None else self._scope_pk(conn, scope)
            # Only the records a save may change come back: new, deleted, of another hash or
            # marked by a deletion tracking. The others are unchanged, found so in SQL.
            changing = {
                row["record_id"]: None if row["content_hash"] is None else _existing_of(row)
                for row in self._save_rows(conn, pk, scope, unique)
            }
            existing = {i: found for i, found in changing.items() if found is not None}
            outcomes: Outcomes = [
                (record, "unchanged")
                if record.id not in changing
                else (record, "inserted")
                if record.id not in existing
                else (record, _outcome(existing[record.id], record))
                for record in unique
            ]
            self._apply_saves(conn, pk, scope, outcomes, existing)
            return self._count_run(conn, scope, _save_counts([o for _, o in outcomes]))

    def save_unchanged(
        self,
        scope: RecordScope,
        claims: Sequence[tuple[str, str]],
        budgets: Budgets | None = None,
    ) -> tuple[RecordCounts, list[int]]:
        """Hashes first: saves the records stored with these (id, content hash) pairs, not
        deleted, as ``save_records`` would save them unchanged (counted unchanged, charged to
        the run's budgets with their stored sizes, seen by a running deletion tracking; nothing
        else written), without their JSON. Their positions come back in order; the other
        pairs (new, changed or deleted records, and stored ones over ``budgets.record_bytes``,
        which the full save refuses as it always has) are the caller's to save in full.

        A pair is only a claim: one that does not match what is stored costs its record a
        full save, which stores what it holds; one that matches changes nothing.

        Raises:
            InvalidRequest: an id empty, holding NUL or given twice (nothing is saved).
            NotFound: code ``unknown_connection``.
            PermissionDenied: code ``run_ended``.
            ResourceExhausted: a budget would be exceeded (nothing of the batch is saved).
        """
        ids = [record_id for record_id, _ in claims]
        check_model(scope)
        _check_ids(ids)
        if len(set(ids)) != len(ids):
            raise InvalidRequest(
                "a hashes-first batch names a record id twice", code="invalid_sync_record"
            )
        if not claims:
            return RecordCounts(), []
        with self._write() as conn:
            found = self._lock_known_scope(conn, scope)
            pk = found if found is not None else self._scope_pk(conn, scope)
            most = budgets.record_bytes if budgets is not None else None
            matched = {
                record_id: (size, marked)
                for record_id, (size, marked) in self._held(conn, pk, scope, claims).items()
                if most is None or size <= most
            }
            if budgets is not None and matched:
                size = sum(size for size, _ in matched.values())
                self._charge_run(conn, scope.run_id, len(matched), size, budgets)
            marked = {
                record_id: Existing(hash_of, False, True)
                for record_id, hash_of in claims
                if matched.get(record_id, (0, False))[1]
            }
            if marked:
                saves: Outcomes = [
                    (RecordIn(i, b"", e.content_hash), "unchanged") for i, e in marked.items()
                ]
                self._apply_saves(conn, pk, scope, saves, marked)
        held = [n for n, record_id in enumerate(ids) if record_id in matched]
        return RecordCounts(unchanged=len(matched)), held

    def delete_records(self, scope: RecordScope, ids: Sequence[str]) -> RecordCounts:
        """Soft-deletes records: ``deleted_at`` set, last_action DELETED, a new cursor.

        Unknown and already deleted ids change nothing; they count as unchanged.

        Raises:
            InvalidRequest: the model or an id holds NUL (nothing is deleted).
        """
        unique = list(dict.fromkeys(ids))
        check_model(scope)
        _check_ids(unique)
        with self._write() as conn:
            pk = self._scope_pk(conn, scope)
            existing = self._existing(conn, pk, scope, unique)
            alive = [record_id for record_id in unique if _alive(existing.get(record_id))]
            self._soft_delete(conn, pk, scope, alive)
            counts = RecordCounts(deleted=len(alive), unchanged=len(unique) - len(alive))
            return self._count_run(conn, scope, counts)

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
            InvalidRequest: code ``invalid_json`` for a patch that is not a JSON object;
                ``invalid_sync_record`` for a model or an id holding NUL.
        """
        check_model(scope)
        _check_ids([record_id for record_id, _ in patches])
        with self._write() as conn:
            pk = self._scope_pk(conn, scope)
            ids = list(dict.fromkeys(record_id for record_id, _ in patches))
            existing = self._existing(conn, pk, scope, ids, with_json=True)
            merged = _merge_all(existing, patches)
            if budgets is not None:
                self._charge(conn, scope.run_id, list(merged.items()), budgets, False)
            saves = [RecordIn(i, data, content_hash(data)) for i, data in merged.items()]
            outcomes = [(record, _outcome(existing[record.id], record)) for record in saves]
            self._apply_saves(conn, pk, scope, outcomes, existing)
            counts = _save_counts([outcome for _, outcome in outcomes])
            counts = RecordCounts(updated=counts.updated, unchanged=counts.unchanged)
            return self._count_run(conn, scope, counts)

    def get_records_by_id(self, scope: RecordScope, ids: Sequence[str]) -> dict[str, StoredRecord]:
        """The found records among ``ids``, with their metadata; soft-deleted ones included
        (their last-known payload, ``deleted_at`` set), as the seed's ``getRecordsById``.
        An id or a model holding NUL is unknown (none is stored)."""
        wanted = (
            []
            if names_hold_nul(scope.model) or not all_unicode([scope.model])
            else [i for i in ids if NUL not in i and all_unicode([i])]
        )
        with self._read() as conn:
            pk = self._connection_pk(conn, scope.env_id, scope.connection_id)
            rows = self._rows_by_id(conn, pk, scope, wanted) if wanted else []
        return {row["record_id"]: stored_record(row, self._codec) for row in rows}

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
        since = None if modified_after is None else self._stamp_in(modified_after)
        with self._read() as conn:
            pk = self._connection_pk(conn, env_id, connection_id)
            page = Page(pk, model, variant, after, since, actions, limit + 1)
            # A model or variant holding NUL has no records (none is stored).
            rows = [] if names_hold_nul(model, variant) else self._page_rows(conn, page)
        records = [stored_record(row, self._codec) for row in rows[:limit]]
        return records, records[-1].cursor if len(rows) > limit else ""

    def record_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        """The records each model's writes of the run added, updated and deleted (empty when
        they changed nothing, or for no such run): ``orchestrator.storage._run_counts``."""
        with self._read() as conn:
            rows = self._fetch_all(conn, SELECT_COUNTS, (run_id,))
        return {
            str(row["model"]): {
                "added": int(row["added"]),
                "updated": int(row["updated"]),
                "deleted": int(row["deleted"]),
            }
            for row in rows
        }

    # ---- shared by the writes ----

    def _existing(
        self, conn: C, pk: int, scope: RecordScope, ids: list[str], *, with_json: bool = False
    ) -> dict[str, Existing]:
        return {
            row["record_id"]: _existing_of(row)
            for row in self._existing_rows(conn, pk, scope, ids, with_json)
        }

    def _charge(
        self,
        conn: C,
        run_id: str,
        records: list[tuple[str, bytes]],
        budgets: Budgets,
        count: bool,
    ) -> None:
        """Charges records to the run's budgets, or raises before anything is written."""
        sizes = [len(data) for _, data in records]
        if max(sizes, default=0) > budgets.record_bytes:
            for record_id, data in records:
                check_record(record_id, data, budgets)
        self._charge_run(conn, run_id, len(records) if count else 0, sum(sizes), budgets)

    def _charge_run(
        self, conn: C, run_id: str, adding: int, adding_bytes: int, budgets: Budgets
    ) -> None:
        """Charges ``adding`` records of ``adding_bytes`` to the run's budgets, or raises
        before anything is written (``run_ended`` when the run has ended)."""
        row = self._fetch_one(
            conn,
            self._locking("SELECT state, records_saved, record_bytes FROM runs WHERE run_id = ?"),
            (run_id,),
        )
        if row is None:
            return
        if row["state"] not in ("queued", "running"):
            raise PermissionDenied("the run has ended; it stores nothing more", code="run_ended")
        check_run_records(
            int(row["records_saved"]), int(row["record_bytes"]), adding, adding_bytes, budgets
        )
        self._exec(
            conn,
            "UPDATE runs SET records_saved = records_saved + ?,"
            " record_bytes = record_bytes + ? WHERE run_id = ?",
            (adding, adding_bytes, run_id),
        )

    # ---- what each engine does its own way ----

    @abstractmethod
    def _lock_known_scope(self, conn: C, scope: RecordScope) -> int | None:
        """Where the engine locks scopes: the scope's connection pk, its scope locked, or None
        (nothing locked) when the connection is unknown. Elsewhere None."""

    @abstractmethod
    def _scope_pk(self, conn: C, scope: RecordScope) -> int:
        """The scope's connection pk, the scope locked for writing (NotFound
        ``unknown_connection``)."""

    @abstractmethod
    def _existing_rows(
        self, conn: C, pk: int, scope: RecordScope, ids: list[str], with_json: bool
    ) -> list[Row]:
        """The scope's rows among ``ids``: ``record_id``, ``content_hash``, ``deleted_at``,
        ``delete_mark`` and ``json`` (NULL unless ``with_json``)."""

    @abstractmethod
    def _save_rows(
        self, conn: C, pk: int, scope: RecordScope, records: list[RecordIn]
    ) -> list[Row]:
        """The rows a save of ``records`` may change, one per such record: ``record_id``, and
        ``content_hash``, ``deleted_at``, ``delete_mark`` of the stored row (all NULL for a new
        record). A live stored row of the same hash and no mark (unchanged) is left out."""

    @abstractmethod
    def _held(
        self, conn: C, pk: int, scope: RecordScope, claims: Sequence[tuple[str, str]]
    ) -> dict[str, tuple[int, bool]]:
        """The claims (id, content hash) the scope holds, not deleted, with that hash: each
        id's stored size (its JSON's bytes) and whether a running deletion tracking marked
        it."""

    @abstractmethod
    def _rows_by_id(self, conn: C, pk: int, scope: RecordScope, ids: list[str]) -> list[Row]:
        """The scope's rows among ``ids``, deleted ones included: every column."""

    @abstractmethod
    def _page_rows(self, conn: C, page: Page) -> list[Row]:
        """The rows of a list page, in cursor order."""

    @abstractmethod
    def _apply_saves(
        self,
        conn: C,
        pk: int,
        scope: RecordScope,
        outcomes: Outcomes,
        existing: dict[str, Existing],
    ) -> None:
        """Writes a batch's outcomes: the changed records, and the marks the unchanged clear."""

    @abstractmethod
    def _soft_delete(self, conn: C, pk: int, scope: RecordScope, ids: list[str]) -> None:
        """Soft-deletes ``ids``, each with a new cursor."""


def clears_mark(outcome: SaveOutcome, existing: dict[str, Existing], record: RecordIn) -> bool:
    """Whether saving ``record`` (which changed nothing) clears a deletion tracking's mark."""
    found = existing.get(record.id)
    return outcome == "unchanged" and found is not None and found.marked


def check_model(scope: RecordScope) -> None:
    """Refuses a record write whose model or variant holds NUL or a lone surrogate
    (``invalid_sync_record``): no engine could store it as given (``orchestrator._text_values``)."""
    if names_hold_nul(scope.model, scope.variant):
        raise InvalidRequest(
            "a model name must not hold the character U+0000 (NUL)", code="invalid_sync_record"
        )
    if not all_unicode([scope.model, scope.variant]):
        raise InvalidRequest(
            "a model name must not hold a lone UTF-16 surrogate", code="invalid_sync_record"
        )


def _check_ids(ids: list[str]) -> None:
    if any(not record_id for record_id in ids):
        raise InvalidRequest("a record id must not be empty", code="invalid_sync_record")
    if any(
        len(record_id) > MAX_RECORD_ID_BYTES // 4
        and len(record_id.encode("utf-8", "surrogatepass")) > MAX_RECORD_ID_BYTES
        for record_id in ids
    ):
        raise InvalidRequest(
            f"a record id is at most {MAX_RECORD_ID_BYTES} bytes of UTF-8",
            code="invalid_sync_record",
        )
    if any("\x00" in record_id for record_id in ids):
        # Neither engine keeps a NUL in text (SQLite's JSON lookups end the id there).
        raise InvalidRequest("a record id must not hold NUL", code="invalid_sync_record")
    if not all_unicode(ids):  # neither engine can bind one (UnicodeEncodeError)
        raise InvalidRequest(
            "a record id must not hold a lone UTF-16 surrogate (U+D800 to U+DFFF)",
            code="invalid_sync_record",
        )


def _existing_of(row: Row) -> Existing:
    return Existing(
        row["content_hash"],
        row["deleted_at"] is not None,
        row["delete_mark"] is not None,
        bytes(row["json"] or b""),
    )


def _alive(existing: Existing | None) -> bool:
    return existing is not None and not existing.deleted


def _outcome(existing: Existing | None, record: RecordIn) -> SaveOutcome:
    if existing is None:
        return classify_save(None, False, record.content_hash)
    return classify_save(existing.content_hash, existing.deleted, record.content_hash)


def _merge_all(
    existing: dict[str, Existing], patches: Sequence[tuple[str, bytes]]
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
