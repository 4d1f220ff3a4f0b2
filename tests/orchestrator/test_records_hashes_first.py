"""Hashes first (``save_unchanged``): records the store holds with the claimed hash are saved
unchanged without their JSON; every other claim is left to a full save. A claim is only a
claim: whatever it says, it changes no stored record, and never reaches another scope."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from corral._budgets import Budgets
from corral.errors import InvalidRequest, NotFound, PermissionDenied, ResourceExhausted
from corral.v1 import callbacks_pb2 as pb
from orchestrator.storage._areas import NewRun, RecordCounts, RecordIn, RecordScope, Storage
from orchestrator.storage._records import decode_cursor
from runner.sdk._wire import HASHES_FIRST_MIN, hashes_first, record_batches
from tests.orchestrator.callbacks_world import World, callbacks_world
from tests.orchestrator.storage_support import Tenant, make_tenant, rec


def claims_of(*records: RecordIn) -> list[tuple[str, str]]:
    return [(record.id, record.content_hash) for record in records]


def listed(storage: Storage, tenant: Tenant, model: str = "Issue") -> list[object]:
    records, _ = storage.list_records(tenant.env_id, "conn-1", model)
    return list(records)


def test_held_records_are_saved_unchanged_and_the_others_named_by_position(
    tenant: Tenant, storage: Storage
) -> None:
    scope = tenant.scope()
    storage.save_records(scope, [rec("a", t=1), rec("b", t=1), rec("c", t=1)])
    storage.delete_records(scope, ["c"])
    before = listed(storage, tenant)

    claims = claims_of(rec("new"), rec("a", t=1), rec("b", t=2), rec("c", t=1))
    counts, held = storage.save_unchanged(scope, claims)

    assert counts == RecordCounts(unchanged=1)
    assert held == [1]  # new: not stored; b: another hash; c: deleted
    assert listed(storage, tenant) == before  # nothing moved, no cursor drawn
    rest = [rec("new"), rec("b", t=2), rec("c", t=1)]
    assert storage.save_records(scope, rest) == RecordCounts(added=2, updated=1)


def test_a_false_claim_changes_nothing_stored(tenant: Tenant, storage: Storage) -> None:
    scope = tenant.scope()
    storage.save_records(scope, [rec("a", t=1)])
    before = listed(storage, tenant)

    counts, held = storage.save_unchanged(scope, [("a", "0" * 64), ("a2", rec("a", t=1)[2])])

    assert (counts, held) == (RecordCounts(), [])
    assert listed(storage, tenant) == before


def test_claims_never_reach_another_scope(tenant: Tenant, storage: Storage) -> None:
    other = make_tenant(storage, "other/prod")
    stored = rec("a", t=1)
    storage.save_records(other.scope(), [stored])
    storage.save_records(tenant.scope("User"), [stored])
    storage.save_records(tenant.scope("Issue", "eu"), [stored])

    counts, held = storage.save_unchanged(tenant.scope(), claims_of(stored))

    assert (counts, held) == (RecordCounts(), [])


def test_held_records_count_as_seen_by_a_running_deletion_tracking(
    tenant: Tenant, storage: Storage
) -> None:
    storage.save_records(tenant.scope(run_id="run-0"), [rec(str(n)) for n in range(4)])
    scope = tenant.scope(run_id="run-1")
    storage.track_deletes_start(scope)

    counts, held = storage.save_unchanged(scope, claims_of(rec("0"), rec("1"), rec("2", x=1)))
    deleted = storage.track_deletes_end(scope)

    assert (counts, held) == (RecordCounts(unchanged=2), [0, 1])
    assert deleted == RecordCounts(deleted=2)  # "2" was claimed with another hash, "3" not
    records, _ = storage.list_records(
        tenant.env_id, "conn-1", "Issue", filter=frozenset({"deleted"})
    )
    assert sorted(record.id for record in records) == ["2", "3"]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ([("", "0" * 64)], "empty"),
        ([("a\x00b", "0" * 64)], "NUL"),
        ([("a", "0" * 64), ("a", "1" * 64)], "twice"),
    ],
)
def test_bad_ids_are_refused_and_nothing_is_seen(
    tenant: Tenant, storage: Storage, claims: list[tuple[str, str]], why: str
) -> None:
    storage.save_records(tenant.scope(run_id="run-0"), [rec("a")])
    scope = tenant.scope(run_id="run-1")
    storage.track_deletes_start(scope)

    with pytest.raises(InvalidRequest) as caught:
        storage.save_unchanged(scope, [*claims_of(rec("a")), *claims])

    assert caught.value.code == "invalid_sync_record", why
    assert storage.track_deletes_end(scope) == RecordCounts(deleted=1)  # "a" was not seen


def test_an_unknown_connection_is_not_found(tenant: Tenant, storage: Storage) -> None:
    wrong = RecordScope(tenant.env_id, "conn-9", "Issue", "", "run-1")
    with pytest.raises(NotFound) as caught:
        storage.save_unchanged(wrong, claims_of(rec("a")))
    assert caught.value.code == "unknown_connection"


def test_no_claims_hold_nothing(tenant: Tenant, storage: Storage) -> None:
    assert storage.save_unchanged(tenant.scope(), []) == (RecordCounts(), [])


# ---- budgets: held records are charged as a full save charges them ----


def _run_scope(tenant: Tenant, storage: Storage) -> RecordScope:
    run = storage.create_run(tenant.env_id, NewRun("sync", "github", "sync", "conn-1", "", "{}"))
    return tenant.scope(run_id=run.run_id)


def test_held_records_are_charged_their_count_and_stored_bytes(
    tenant: Tenant, storage: Storage
) -> None:
    records = [rec(str(n), pad="x" * 90) for n in range(3)]
    storage.save_records(tenant.scope(run_id="run-0"), records)
    size = sum(len(record.json) for record in records)
    scope = _run_scope(tenant, storage)
    budgets = Budgets(records_per_run=5, record_bytes_per_run=size + 10)

    assert storage.save_unchanged(scope, claims_of(*records), budgets)[1] == [0, 1, 2]

    with pytest.raises(ResourceExhausted) as caught:  # 11 bytes left: not one record more
        storage.save_unchanged(scope, claims_of(records[0]), budgets)
    assert caught.value.details == {"resource": "record_bytes_per_run", "limit": size + 10}
    with pytest.raises(ResourceExhausted) as caught:  # nor with the full records
        storage.save_records(scope, records[:1], budgets)
    assert caught.value.details["resource"] == "record_bytes_per_run"


def test_the_record_count_budget_refuses_a_batch_whole(tenant: Tenant, storage: Storage) -> None:
    records = [rec(str(n)) for n in range(3)]
    storage.save_records(tenant.scope(run_id="run-0"), records)
    scope = _run_scope(tenant, storage)

    with pytest.raises(ResourceExhausted) as caught:
        storage.save_unchanged(scope, claims_of(*records), Budgets(records_per_run=2))

    assert caught.value.details == {"resource": "records_per_run", "limit": 2}
    budgets = Budgets(records_per_run=4)  # nothing was charged: three, then one more
    assert storage.save_unchanged(scope, claims_of(*records), budgets)[1] == [0, 1, 2]
    assert storage.save_unchanged(scope, claims_of(records[0]), budgets)[1] == [0]
    with pytest.raises(ResourceExhausted):
        storage.save_unchanged(scope, claims_of(records[0]), budgets)


def test_a_stored_record_over_the_record_budget_is_left_to_the_full_save(
    tenant: Tenant, storage: Storage
) -> None:
    small, big = rec("s"), rec("b", pad="x" * 400)
    storage.save_records(tenant.scope(run_id="run-0"), [small, big])
    scope = _run_scope(tenant, storage)
    budgets = Budgets(record_bytes=300)

    counts, held = storage.save_unchanged(scope, claims_of(small, big), budgets)

    assert (counts, held) == (RecordCounts(unchanged=1), [0])
    with pytest.raises(ResourceExhausted) as caught:  # the full save refuses it, as always
        storage.save_records(scope, [big], budgets)
    assert caught.value.details == {"resource": "record_bytes", "limit": 300}


def test_an_ended_run_holds_nothing(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(run_id="run-0"), [rec("a")])
    scope = _run_scope(tenant, storage)
    storage.finish_run(scope.run_id, True, "null", None)

    with pytest.raises(PermissionDenied) as caught:
        storage.save_unchanged(scope, claims_of(rec("a")), Budgets())

    assert caught.value.code == "run_ended"


def test_held_records_keep_their_cursor(tenant: Tenant, storage: Storage) -> None:
    scope = tenant.scope()
    storage.save_records(scope, [rec("a"), rec("b")])
    (first, *_), _ = storage.list_records(tenant.env_id, "conn-1", "Issue")

    storage.save_unchanged(scope, claims_of(rec("a")))
    storage.save_records(scope, [rec("b", t=2)])

    records, _ = storage.list_records(tenant.env_id, "conn-1", "Issue", cursor=first.cursor)
    assert [record.id for record in records] == ["b"]
    assert decode_cursor(records[0].cursor) > decode_cursor(first.cursor)


# ---- the callback service: what the SDK sends, read as hostile ----


@pytest.fixture
def world(tmp_path: pathlib.Path) -> Iterator[World]:
    with callbacks_world(tmp_path, {}) as made:
        yield made


VALUES: list[Any] = [
    {
        "id": n,
        "name": f"n{n}",
        "é": "☃ \u2028",
        "f": n / 3,
        "big": 10**30,
        "nested": {"a": [1, None]},
    }
    for n in range(HASHES_FIRST_MIN)
]


def _first(values: list[Any]) -> pb.RecordBatch:
    made = hashes_first("Item", values, 1 << 20)
    assert made is not None
    return made[0]


def test_the_sdks_digests_are_the_hashes_the_store_keeps(world: World) -> None:
    _, context = world.run()
    (full,) = record_batches("Item", VALUES, 1 << 20)
    assert world.service.BatchSave(full, context).added == len(VALUES)
    changed = [dict(VALUES[0], f=0.5), *VALUES[1:]]

    answer = world.service.BatchSave(_first(changed), context)

    assert answer.unchanged == len(VALUES) - 1
    assert list(answer.held) == list(range(1, len(VALUES)))


def test_a_service_that_does_not_match_holds_nothing(tmp_path: pathlib.Path) -> None:
    # The offline dry run's: every record it saves must arrive, to be kept and compared.
    with callbacks_world(tmp_path, {}, match_hashes=False) as world:
        _, context = world.run()
        world.service.BatchSave(record_batches("Item", VALUES, 1 << 20)[0], context)

        answer = world.service.BatchSave(_first(VALUES), context)

    assert (answer.unchanged, list(answer.held)) == (0, [])


def _digests(count: int) -> bytes:
    return bytes(32 * count)


@pytest.mark.parametrize(
    "batch",
    [
        pb.RecordBatch(model="Item", ids_json=b"not json", content_hashes=_digests(1)),
        pb.RecordBatch(model="Item", ids_json=b'{"a": 1}', content_hashes=_digests(1)),
        pb.RecordBatch(model="Item", ids_json=b"[1]", content_hashes=_digests(1)),
        pb.RecordBatch(model="Item", ids_json=b'[""]', content_hashes=_digests(1)),
        pb.RecordBatch(model="Item", ids_json=b'["a", "a"]', content_hashes=_digests(2)),
        pb.RecordBatch(model="Item", ids_json=b'["a", "b"]', content_hashes=_digests(1)),
        pb.RecordBatch(model="Item", ids_json=b'["a"]', content_hashes=_digests(1) + b"x"),
        pb.RecordBatch(model="Item", content_hashes=_digests(1)),
        pb.RecordBatch(
            model="Item", ids_json=b'["a"]', content_hashes=_digests(1), records_json=b"[]"
        ),
        pb.RecordBatch(
            model="Item",
            ids_json=b'["a"]',
            content_hashes=_digests(1),
            records=[pb.Record(id="a", json=b'{"id":"a"}')],
        ),
    ],
)
def test_a_malformed_hashes_first_batch_is_refused_typed(
    world: World, batch: pb.RecordBatch
) -> None:
    _, context = world.run()
    with pytest.raises(InvalidRequest) as caught:
        world.service.BatchSave(batch, context)
    assert caught.value.code == "invalid_sync_record"


@pytest.mark.parametrize("rpc", ["BatchDelete", "BatchUpdate"])
def test_only_batch_save_takes_hashes_first(world: World, rpc: str) -> None:
    _, context = world.run()
    batch = pb.RecordBatch(model="Item", ids_json=b'["a"]', content_hashes=_digests(1))
    with pytest.raises(InvalidRequest) as caught:
        getattr(world.service, rpc)(batch, context)
    assert caught.value.code == "invalid_sync_record"
