"""Records: the shared record logic and every engine's record storage."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from corral._budgets import Budgets
from corral.errors import InvalidRequest, NotFound
from orchestrator.storage._areas import NewRun, RecordCounts, RecordIn, Storage, StoredRecord
from orchestrator.storage._pg_records import text_array
from orchestrator.storage._records import (
    MAX_RECORD_ID_BYTES,
    api_view,
    classify_save,
    content_hash,
    decode_cursor,
    deep_merge,
    encode_cursor,
    from_rfc3339,
    last_wins,
    merge_record,
    parse_filter,
    to_rfc3339,
)
from tests.orchestrator.storage_support import (
    START,
    Clock,
    Tenant,
    body,
    rec,
)


def listed(
    storage: Storage, tenant: Tenant, model: str = "Issue", **options: Any
) -> list[StoredRecord]:
    records, _ = storage.list_records(tenant.env_id, "conn-1", model, **options)
    return records


def by_id(
    storage: Storage, tenant: Tenant, model: str = "Issue", variant: str = ""
) -> dict[str, StoredRecord]:
    return {r.id: r for r in listed(storage, tenant, model, variant=variant)}


# ---- shared logic ----


def test_deep_merge_follows_the_seed() -> None:
    stored = {"id": "1", "tags": [{"id": 12, "name": "Dev"}, {"id": 13, "name": "QA"}]}
    patch = {"id": "1", "tags": [{"id": 14, "name": "UX"}]}

    assert deep_merge(stored, patch) == {"id": "1", "tags": [{"id": 14, "name": "UX"}]}


def test_deep_merge_merges_objects_recursively_and_keeps_absent_fields() -> None:
    stored = {"id": "1", "title": "t", "user": {"name": "a", "address": {"city": "x", "zip": "1"}}}
    patch = {"user": {"address": {"city": "y"}, "age": 3}, "state": None}

    merged = deep_merge(stored, patch)

    assert merged == {
        "id": "1",
        "title": "t",
        "user": {"name": "a", "address": {"city": "y", "zip": "1"}, "age": 3},
        "state": None,
    }
    assert stored["user"] == {"name": "a", "address": {"city": "x", "zip": "1"}}


def test_deep_merge_replaces_values_of_another_type() -> None:
    assert deep_merge({"a": {"b": 1}, "c": [1]}, {"a": 5, "c": {"d": 1}}) == {"a": 5, "c": {"d": 1}}
    assert deep_merge({"a": 5}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def test_merge_record_keeps_the_stored_bytes_when_nothing_changes() -> None:
    stored = b'{"id": "1", "n": {"x": 1}}'

    assert merge_record(stored, b'{"n":{"x":1}}', "1") is stored
    assert merge_record(stored, b'{"n":{"y":2}}', "1") == b'{"id":"1","n":{"x":1,"y":2}}'


def test_classify_save() -> None:
    assert classify_save(None, False, "h") == "inserted"
    assert classify_save("h", False, "h") == "unchanged"
    assert classify_save("h", False, "g") == "changed"
    assert classify_save("h", True, "h") == "undeleted"
    assert classify_save("h", True, "g") == "undeleted"


def test_last_wins_keeps_the_last_record_of_an_id() -> None:
    first, other, last = rec("1", v=1), rec("2"), rec("1", v=2)

    assert last_wins([first, other, last]) == [other, last]


def test_batch_columns_go_to_postgresql_as_array_text_unless_an_element_needs_escaping() -> None:
    assert text_array(["a", "b,{c}", "NULL", "é"]) == '{"a","b,{c}","NULL","é"}'
    assert text_array([1, 20, 300]) == "{1,20,300}"
    assert text_array([]) == "{}"
    assert text_array(['q"q', "x"]) == ['q"q', "x"]
    assert text_array(["b\\s"]) == ["b\\s"]
    assert text_array(["new\nline"]) == ["new\nline"]


def test_cursor_round_trip_and_invalid_cursors() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    assert decode_cursor("") == 0
    for bad in ("nope", encode_cursor(1) + "!", "YzE6LTE", "eDox"):
        with pytest.raises(InvalidRequest) as caught:
            decode_cursor(bad)
        assert caught.value.code == "invalid_cursor"


def test_parse_filter() -> None:
    assert parse_filter("added,DELETED") == frozenset({"added", "deleted"})
    assert parse_filter(["updated"]) == frozenset({"updated"})
    assert parse_filter("") == frozenset({"added", "updated", "deleted"})
    with pytest.raises(InvalidRequest):
        parse_filter("removed")


def test_timestamps_are_rfc3339_utc_with_microseconds() -> None:
    text = to_rfc3339(START)

    assert text == "2026-11-22T23:57:47.123456Z"
    assert from_rfc3339(text) == START


def test_api_view_adds_nango_metadata() -> None:
    record = StoredRecord(
        id="1",
        json=b'{"id":"1","title":"t"}',
        first_seen_at=START,
        last_modified_at=START + timedelta(seconds=1),
        last_action="DELETED",
        deleted_at=START + timedelta(seconds=1),
        cursor="abc",
    )

    assert api_view(record) == {
        "id": "1",
        "title": "t",
        "_nango_metadata": {
            "first_seen_at": "2026-11-22T23:57:47.123456Z",
            "last_modified_at": "2026-11-22T23:57:48.123456Z",
            "last_action": "DELETED",
            "deleted_at": "2026-11-22T23:57:48.123456Z",
            "cursor": "abc",
        },
    }


# ---- save ----


def test_save_adds_updates_and_leaves_unchanged(tenant: Tenant, storage: Storage) -> None:
    added = storage.save_records(tenant.scope(), [rec("1", t="a"), rec("2", t="b")])
    before = by_id(storage, tenant)

    again = storage.save_records(tenant.scope(), [rec("1", t="a"), rec("2", t="B"), rec("3")])
    after = by_id(storage, tenant)

    assert added == RecordCounts(added=2)
    assert again == RecordCounts(added=1, updated=1, unchanged=1)
    assert after["1"] == before["1"]
    assert after["1"].last_action == "ADDED"
    assert after["2"].last_action == "UPDATED"
    assert after["2"].first_seen_at == before["2"].first_seen_at
    assert after["2"].last_modified_at > before["2"].last_modified_at
    assert decode_cursor(after["2"].cursor) > decode_cursor(before["2"].cursor)
    assert body(after["2"].json) == {"id": "2", "t": "B"}


@pytest.mark.parametrize("new_first", [True, False])
def test_a_batch_mixing_new_and_stored_ids_in_any_order(
    tenant: Tenant, storage: Storage, new_first: bool
) -> None:
    # A store may look at the batch's first id to choose how it compares the rest.
    storage.save_records(tenant.scope(), [rec("s1", t="a"), rec("s2", t="b")])
    stored = [rec("s1", t="a"), rec("s2", t="B")]
    new = [rec("n1"), rec("n2")]

    counts = storage.save_records(tenant.scope(), new + stored if new_first else stored + new)

    assert counts == RecordCounts(added=2, updated=1, unchanged=1)
    changes = ["n1", "n2", "s2"] if new_first else ["s2", "n1", "n2"]  # in the batch's order
    assert [r.id for r in listed(storage, tenant)] == ["s1", *changes]
    assert {r.id: r.last_action for r in listed(storage, tenant)} == {
        "s1": "ADDED",
        "s2": "UPDATED",
        "n1": "ADDED",
        "n2": "ADDED",
    }


@pytest.mark.parametrize(
    "ids",
    [
        ["NULL", "a,b", "{c}", " d ", "é ☃", "x'y", "1"],  # kept as they are in a batch's text
        ['q"q', "b\\s", "new\nline", "tab\t", "{c}", "NULL"],  # characters that need escaping
    ],
)
def test_record_ids_of_any_text_are_stored_and_found_as_they_are(
    tenant: Tenant, storage: Storage, ids: list[str]
) -> None:
    counts = storage.save_records(tenant.scope(), [rec(i, t=i) for i in ids])
    again = storage.save_records(tenant.scope(), [rec(i, t=i) for i in ids])

    assert counts == RecordCounts(added=len(ids))
    assert again == RecordCounts(unchanged=len(ids))
    assert {r.id: body(r.json)["t"] for r in listed(storage, tenant)} == {i: i for i in ids}
    assert sorted(storage.get_records_by_id(tenant.scope(), ids)) == sorted(ids)


def test_unchanged_save_moves_nothing(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", t="a")])
    before = listed(storage, tenant)

    counts = storage.save_records(tenant.scope(), [rec("1", t="a")])

    assert counts == RecordCounts(unchanged=1)
    assert listed(storage, tenant) == before
    assert listed(storage, tenant, cursor=before[0].cursor) == []


def test_a_batch_saved_again_by_its_run_writes_no_duplicate(
    tenant: Tenant, storage: Storage
) -> None:
    # A batch_save retried after a timeout whose first attempt had committed: same records,
    # same run. Every record is there once, as the first attempt left it.
    run = storage.create_run(tenant.env_id, NewRun("sync", "github", "sync", "conn-1", "", "{}"))
    scope = tenant.scope(run_id=run.run_id)
    batch = [rec(str(i), t=i) for i in range(5)]
    storage.save_records(scope, batch, Budgets())
    before = listed(storage, tenant)

    counts = storage.save_records(scope, batch, Budgets())

    assert counts == RecordCounts(unchanged=5)
    assert listed(storage, tenant) == before
    assert sorted(record.id for record in before) == ["0", "1", "2", "3", "4"]


def test_same_id_twice_in_one_batch_last_wins(tenant: Tenant, storage: Storage) -> None:
    counts = storage.save_records(tenant.scope(), [rec("1", v=1), rec("1", v=2)])

    assert counts == RecordCounts(added=1)
    assert body(listed(storage, tenant)[0].json) == {"id": "1", "v": 2}


def test_empty_record_id_is_refused(tenant: Tenant, storage: Storage) -> None:
    with pytest.raises(InvalidRequest):
        storage.save_records(tenant.scope(), [rec("1"), RecordIn("", b"{}", content_hash(b"{}"))])

    assert listed(storage, tenant) == []


def test_a_record_id_holding_nul_is_refused_and_nothing_is_saved(
    tenant: Tenant, storage: Storage
) -> None:
    # Saved twice, such an id was not found again on SQLite (its JSON lookups end it at the
    # NUL) and the second save failed on the unique key; PostgreSQL's text holds no NUL.
    data = b'{"id":"a\\u0000b"}'
    with pytest.raises(InvalidRequest) as refused:
        storage.save_records(
            tenant.scope(), [rec("1"), RecordIn("a\x00b", data, content_hash(data))]
        )

    assert refused.value.code == "invalid_sync_record"
    assert listed(storage, tenant) == []


@pytest.mark.parametrize(
    ("record_id", "stored"),
    [
        ("x" * MAX_RECORD_ID_BYTES, True),
        ("é" * (MAX_RECORD_ID_BYTES // 2), True),
        ("x" * (MAX_RECORD_ID_BYTES + 1), False),
        ("☃" * (MAX_RECORD_ID_BYTES // 3 + 1), False),  # 342 characters, 1,026 bytes
        ("x" * (3 << 20), False),
    ],
)
def test_a_record_id_is_at_most_1024_bytes_and_a_longer_one_refuses_the_batch(
    tenant: Tenant, storage: Storage, record_id: str, stored: bool
) -> None:
    batch = [rec("ok"), rec(record_id)]
    if stored:
        assert storage.save_records(tenant.scope(), batch) == RecordCounts(added=2)
        assert sorted(r.id for r in listed(storage, tenant)) == sorted(["ok", record_id])
        return
    for save in (
        lambda: storage.save_records(tenant.scope(), batch),
        lambda: storage.save_unchanged(tenant.scope(), [(r.id, r.content_hash) for r in batch]),
    ):
        with pytest.raises(InvalidRequest) as caught:
            save()
        assert caught.value.code == "invalid_sync_record"
        assert "1024 bytes" in caught.value.message
    assert listed(storage, tenant) == []


def test_records_of_an_unknown_connection(tenant: Tenant, storage: Storage) -> None:
    scope = tenant.scope()
    wrong = type(scope)(tenant.env_id, "conn-9", "Issue", "", "run-1")

    with pytest.raises(NotFound) as caught:
        storage.save_records(wrong, [rec("1")])
    assert caught.value.code == "unknown_connection"
    with pytest.raises(NotFound):
        storage.list_records(tenant.env_id, "conn-9", "Issue")


def test_models_and_variants_are_separate(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope("Issue"), [rec("1", m="issue")])
    storage.save_records(tenant.scope("Issue", "eu"), [rec("1", m="issue-eu")])
    storage.save_records(tenant.scope("User"), [rec("1", m="user")])

    assert body(by_id(storage, tenant, "Issue")["1"].json)["m"] == "issue"
    assert body(by_id(storage, tenant, "Issue", "eu")["1"].json)["m"] == "issue-eu"
    assert body(by_id(storage, tenant, "User")["1"].json)["m"] == "user"


# ---- delete ----


def test_delete_is_soft(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", t="a"), rec("2")])
    before = by_id(storage, tenant)

    counts = storage.delete_records(tenant.scope(), ["1", "1", "9"])
    again = storage.delete_records(tenant.scope(), ["1"])

    deleted = by_id(storage, tenant)["1"]
    assert counts == RecordCounts(deleted=1, unchanged=1)
    assert again == RecordCounts(unchanged=1)
    assert deleted.last_action == "DELETED"
    assert deleted.deleted_at == deleted.last_modified_at
    assert deleted.deleted_at is not None
    assert deleted.json == before["1"].json
    assert decode_cursor(deleted.cursor) > decode_cursor(before["2"].cursor)
    assert storage.get_records_by_id(tenant.scope(), ["1", "2"]) == {"1": deleted, "2": before["2"]}


def test_saving_a_deleted_record_brings_it_back(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", t="a")])
    first_seen = listed(storage, tenant)[0].first_seen_at
    storage.delete_records(tenant.scope(), ["1"])

    counts = storage.save_records(tenant.scope(), [rec("1", t="a")])

    record = listed(storage, tenant)[0]
    assert counts == RecordCounts(added=1)
    assert record.last_action == "UPDATED"
    assert record.deleted_at is None
    assert record.first_seen_at == first_seen


# ---- update ----


def test_update_deep_merges(tenant: Tenant, storage: Storage) -> None:
    stored = rec(
        "1", title="t", tags=[{"id": 12, "name": "Dev"}, {"id": 13}], user={"a": 1, "b": 2}
    )
    storage.save_records(tenant.scope(), [stored])
    patch = json.dumps({"id": "1", "tags": [{"id": 14, "name": "UX"}], "user": {"b": 3}}).encode()

    counts = storage.update_records(tenant.scope(), [("1", patch), ("9", patch)])

    record = listed(storage, tenant)[0]
    assert counts == RecordCounts(updated=1)
    assert body(record.json) == {
        "id": "1",
        "title": "t",
        "tags": [{"id": 14, "name": "UX"}],
        "user": {"a": 1, "b": 3},
    }
    assert record.last_action == "UPDATED"


def test_update_patches_of_one_id_apply_in_order(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", a=1)])

    storage.update_records(tenant.scope(), [("1", b'{"b":2}'), ("1", b'{"a":3}')])

    assert body(listed(storage, tenant)[0].json) == {"id": "1", "a": 3, "b": 2}


def test_update_that_changes_nothing_moves_nothing(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", a=1, n={"x": 1})])
    before = listed(storage, tenant)

    counts = storage.update_records(tenant.scope(), [("1", b'{"a":1,"n":{"x":1}}')])

    assert counts == RecordCounts(unchanged=1)
    assert listed(storage, tenant) == before


def test_update_ignores_unknown_and_deleted_ids(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", a=1)])
    storage.delete_records(tenant.scope(), ["1"])
    before = listed(storage, tenant)

    counts = storage.update_records(tenant.scope(), [("1", b'{"a":2}'), ("2", b'{"a":2}')])

    assert counts == RecordCounts()
    assert listed(storage, tenant) == before


def test_update_refuses_a_patch_that_is_not_an_object(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", a=1), rec("2", a=1)])
    before = listed(storage, tenant)

    with pytest.raises(InvalidRequest):
        storage.update_records(tenant.scope(), [("1", b'{"a":2}'), ("2", b"[1]")])

    assert listed(storage, tenant) == before


# ---- get by id ----


def test_get_records_by_id_returns_found_records_deleted_ones_marked(
    tenant: Tenant, storage: Storage
) -> None:
    one, two = rec("1", t="a"), rec("2", t="b")
    storage.save_records(tenant.scope(), [one, two, rec("3")])
    storage.delete_records(tenant.scope(), ["3"])

    found = storage.get_records_by_id(tenant.scope(), ["1", "2", "3", "4"])

    assert found == {r.id: r for r in listed(storage, tenant) if r.id in ("1", "2", "3")}
    assert [found[i].json for i in ("1", "2")] == [one.json, two.json]
    assert found["3"].last_action == "DELETED"
    assert found["3"].deleted_at is not None
    assert found["1"].deleted_at is None
    assert api_view(found["3"])["_nango_metadata"]["last_action"] == "DELETED"
    assert storage.get_records_by_id(tenant.scope("Issue", "eu"), ["1"]) == {}


# ---- deletion tracking ----


def test_track_deletes_deletes_what_was_not_saved(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(run_id="run-0"), [rec("1"), rec("2", t="a"), rec("3")])
    scope = tenant.scope(run_id="run-1")

    storage.track_deletes_start(scope)
    storage.save_records(scope, [rec("1")])
    storage.save_records(scope, [rec("2", t="b"), rec("4")])
    counts = storage.track_deletes_end(scope)

    records = by_id(storage, tenant)
    assert counts == RecordCounts(deleted=1)
    assert records["3"].last_action == "DELETED"
    assert records["1"].last_action == "ADDED"
    assert records["1"].deleted_at is None
    assert records["2"].last_action == "UPDATED"
    assert records["4"].last_action == "ADDED"


def test_track_deletes_counts_updates_as_seen(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", a=1), rec("2", a=1)])

    storage.track_deletes_start(tenant.scope())
    storage.update_records(tenant.scope(), [("1", b'{"a":1}')])
    counts = storage.track_deletes_end(tenant.scope())

    assert counts == RecordCounts(deleted=1)
    assert by_id(storage, tenant)["2"].last_action == "DELETED"


def test_track_deletes_leaves_records_added_by_others(tenant: Tenant, storage: Storage) -> None:
    storage.track_deletes_start(tenant.scope(run_id="run-1"))
    storage.save_records(tenant.scope(run_id="webhook-run"), [rec("7")])

    assert storage.track_deletes_end(tenant.scope(run_id="run-1")) == RecordCounts()
    assert by_id(storage, tenant)["7"].deleted_at is None


def test_abandoned_tracking_deletes_nothing(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1"), rec("2")])
    failed = tenant.scope(run_id="run-failed")
    storage.track_deletes_start(failed)
    storage.save_records(failed, [rec("1")])

    storage.abandon_tracking("run-failed")

    with pytest.raises(InvalidRequest) as caught:
        storage.track_deletes_end(failed)
    assert caught.value.code == "track_deletes_not_started"
    next_run = tenant.scope(run_id="run-next")
    storage.track_deletes_start(next_run)
    storage.save_records(next_run, [rec("1"), rec("2")])
    assert storage.track_deletes_end(next_run) == RecordCounts()
    assert all(r.deleted_at is None for r in listed(storage, tenant))


def test_track_deletes_of_two_variants_are_independent(tenant: Tenant, storage: Storage) -> None:
    base, eu = tenant.scope("Issue", ""), tenant.scope("Issue", "eu")
    storage.save_records(base, [rec("1"), rec("2")])
    storage.save_records(eu, [rec("1"), rec("2")])

    storage.track_deletes_start(base)
    storage.track_deletes_start(eu)
    storage.save_records(base, [rec("1")])
    storage.save_records(eu, [rec("2")])
    base_counts = storage.track_deletes_end(base)
    eu_counts = storage.track_deletes_end(eu)

    assert base_counts == eu_counts == RecordCounts(deleted=1)
    assert by_id(storage, tenant, "Issue", "")["2"].last_action == "DELETED"
    assert by_id(storage, tenant, "Issue", "eu")["1"].last_action == "DELETED"
    assert by_id(storage, tenant, "Issue", "eu")["2"].deleted_at is None


def test_track_deletes_end_without_start(tenant: Tenant, storage: Storage) -> None:
    with pytest.raises(InvalidRequest) as caught:
        storage.track_deletes_end(tenant.scope())
    assert caught.value.code == "track_deletes_not_started"

    storage.track_deletes_start(tenant.scope(run_id="run-1"))
    with pytest.raises(InvalidRequest):
        storage.track_deletes_end(tenant.scope(run_id="run-2"))


def test_resaved_deleted_record_in_window_survives(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1")])
    storage.delete_records(tenant.scope(), ["1"])

    storage.track_deletes_start(tenant.scope())
    storage.save_records(tenant.scope(), [rec("1")])

    assert storage.track_deletes_end(tenant.scope()) == RecordCounts()
    assert by_id(storage, tenant)["1"].deleted_at is None


# ---- list ----


def test_list_pages_by_cursor(tenant: Tenant, storage: Storage) -> None:
    for batch in range(5):
        storage.save_records(tenant.scope(), [rec(f"{batch}-{i}") for i in range(3)])

    seen: list[str] = []
    cursor = ""
    while True:
        page, cursor = storage.list_records(
            tenant.env_id, "conn-1", "Issue", cursor=cursor, limit=4
        )
        seen += [r.id for r in page]
        if not cursor:
            break

    assert seen == [f"{batch}-{i}" for batch in range(5) for i in range(3)]


def test_list_resumes_after_a_record_cursor_with_changes(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1"), rec("2"), rec("3")])
    last = listed(storage, tenant)[-1]
    storage.save_records(tenant.scope(), [rec("1", t="new")])
    storage.delete_records(tenant.scope(), ["2"])

    changes = listed(storage, tenant, cursor=last.cursor)

    assert [(r.id, r.last_action) for r in changes] == [("1", "UPDATED"), ("2", "DELETED")]


def test_list_filter_by_last_action(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1"), rec("2"), rec("3")])
    storage.save_records(tenant.scope(), [rec("2", t="x")])
    storage.delete_records(tenant.scope(), ["3"])

    def ids(names: set[str]) -> list[str]:
        return [r.id for r in listed(storage, tenant, filter=frozenset(names))]

    assert ids({"added"}) == ["1"]
    assert ids({"updated"}) == ["2"]
    assert ids({"deleted"}) == ["3"]
    assert ids({"added", "deleted"}) == ["1", "3"]
    assert ids({"added", "updated", "deleted"}) == ["1", "2", "3"]
    with pytest.raises(InvalidRequest):
        ids({"removed"})


def test_list_modified_after(tenant: Tenant, storage: Storage, clock: Clock) -> None:
    storage.save_records(tenant.scope(), [rec("1")])
    clock.now += timedelta(hours=1)
    middle = clock.now
    storage.save_records(tenant.scope(), [rec("2")])
    storage.save_records(tenant.scope(), [rec("1", t="x")])

    records = listed(storage, tenant, modified_after=middle)

    assert [r.id for r in records] == ["2", "1"]
    assert all(r.last_modified_at >= middle for r in records)
    assert listed(storage, tenant, modified_after=clock.now + timedelta(days=1)) == []


def test_list_limit_bounds_and_bad_cursor(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1"), rec("2")])

    page, next_cursor = storage.list_records(tenant.env_id, "conn-1", "Issue", limit=1)
    last_page, end = storage.list_records(tenant.env_id, "conn-1", "Issue", cursor=next_cursor)

    assert [r.id for r in page] == ["1"]
    assert next_cursor == page[0].cursor
    assert [r.id for r in last_page] == ["2"]
    assert end == ""
    for limit in (0, 10_001):
        with pytest.raises(InvalidRequest):
            storage.list_records(tenant.env_id, "conn-1", "Issue", limit=limit)
    with pytest.raises(InvalidRequest):
        storage.list_records(tenant.env_id, "conn-1", "Issue", cursor="garbage")


def test_list_shows_metadata_and_times(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1", t="a")])

    record = listed(storage, tenant)[0]
    view = api_view(record)

    assert record.first_seen_at == record.last_modified_at
    assert record.first_seen_at.tzinfo is not None
    assert view["t"] == "a"
    assert view["_nango_metadata"]["last_action"] == "ADDED"
    assert view["_nango_metadata"]["deleted_at"] is None
    assert view["_nango_metadata"]["cursor"] == record.cursor
