"""Budgets per run and per connection, enforced by the callbacks and the store; size paging."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import pytest

from corral._budgets import MAX_RESPONSE_BYTES, Budgets, RunMeter, budgets_for, json_size
from corral.errors import InvalidRequest, PermissionDenied, ResourceExhausted
from corral.v1 import callbacks_pb2 as pb
from corral.v1 import orchestrator_pb2 as api_pb
from orchestrator._env_settings import validated
from orchestrator.api._pages import (
    PageFiller,
    decode_cursor,
    decode_number_cursor,
    encode_cursor,
    sized,
)
from orchestrator.storage._areas import LogLine, NewRun, RecordScope
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.callbacks_world import World, callbacks_world

SMALL = {
    "log_lines_per_run": 5,
    "log_bytes_per_run": 2048,
    "log_meta_bytes": 100,
    "metadata_bytes": 200,
    "record_bytes": 300,
    "records_per_run": 4,
    "record_bytes_per_run": 2048,
}


@pytest.fixture
def world(tmp_path: pathlib.Path) -> Iterator[World]:
    with callbacks_world(tmp_path, SMALL) as made:
        yield made


# ---- settings ----


def test_budgets_have_documented_defaults_and_take_settings() -> None:
    assert budgets_for({}) == Budgets()
    assert Budgets().log_lines_per_run == 10_000
    assert Budgets().log_bytes_per_run == 16 << 20
    assert Budgets().metadata_bytes == 1 << 20
    assert Budgets().record_bytes == 1 << 20
    assert Budgets().records_per_run == 1_000_000
    assert Budgets().record_bytes_per_run == 256 << 20
    assert budgets_for({"budgets": {"records_per_run": 7}}).records_per_run == 7
    assert validated({"budgets": {"records_per_run": 7}}) == {
        "log_level": "info",
        "validation": True,
        "limits": {},
        "budgets": {"records_per_run": 7},
        "concurrency": {},
    }
    with pytest.raises(InvalidRequest):
        validated({"budgets": {"records_per_run": 0}})
    with pytest.raises(InvalidRequest):
        validated({"budgets": {"bogus": 1}})


def test_the_response_cap_is_a_budget_up_to_what_the_callbacks_carry() -> None:
    assert Budgets().response_bytes == MAX_RESPONSE_BYTES == 64 << 20
    assert budgets_for({"budgets": {"response_bytes": 4096}}).response_bytes == 4096
    assert validated({"budgets": {"response_bytes": 4096}})["budgets"] == {"response_bytes": 4096}
    with pytest.raises(InvalidRequest) as caught:
        validated({"budgets": {"response_bytes": MAX_RESPONSE_BYTES + 1}})
    assert "budgets.response_bytes" in caught.value.message
    with pytest.raises(InvalidRequest):
        validated({"budgets": {"response_bytes": 10}})


def test_resource_exhausted_is_typed() -> None:
    error = ResourceExhausted("too much", resource="record_bytes", limit=5)
    assert error.code == "resource_exhausted"
    assert error.details == {"resource": "record_bytes", "limit": 5}
    assert error.to_dict()["type"] == "resource_exhausted"


# ---- logs ----


def test_log_lines_past_the_budget_are_dropped_and_counted(world: World) -> None:
    run_id, context = world.run()
    for i in range(9):
        world.log(context, f"line {i}")
    lines = world.storage.get_logs(world.env_id, run_id)
    assert [line.message for line in lines[:5]] == [f"line {i}" for i in range(5)]
    assert len(lines) == 6
    assert lines[5].level == "warn"
    assert json.loads(lines[5].meta_json) == {"dropped": 4}
    assert world.storage.get_run(world.env_id, run_id).logs_dropped == 4
    assert world.storage.get_run(world.env_id, run_id).state == "running"


def test_the_log_lines_setting_rules_over_the_store_default(tmp_path: pathlib.Path) -> None:
    storage = SqliteStorage(tmp_path / "small.db", max_log_lines=2)
    try:
        env, _ = storage.create_environment("dev")
        run = storage.create_run(env.id, NewRun("f", "shop", "sync", "c1", "base", "null"))
        budgets = Budgets(log_lines_per_run=4)
        storage.append_logs(run.run_id, [LogLine("info", f"l{i}") for i in range(6)], budgets)
        assert len(storage.get_logs(env.id, run.run_id)) == 5
        assert storage.get_run(env.id, run.run_id).logs_dropped == 2
    finally:
        storage.close()


def test_log_bytes_past_the_budget_drop_every_later_line(world: World) -> None:
    run_id, context = world.run()
    world.log(context, "a" * 1500)
    world.log(context, "b" * 1000)
    world.log(context, "c")
    lines = world.storage.get_logs(world.env_id, run_id)
    assert lines[0].message == "a" * 1500
    assert len(lines) == 2
    assert world.storage.get_run(world.env_id, run_id).logs_dropped == 2


def test_log_metadata_past_its_budget_is_replaced_by_a_note(world: World) -> None:
    run_id, context = world.run()
    world.log(context, "small", {"k": 1})
    world.log(context, "large", {"k": "x" * 500})
    lines = world.storage.get_logs(world.env_id, run_id)
    assert json.loads(lines[0].meta_json) == {"k": 1}
    note = json.loads(lines[1].meta_json)
    assert note["limit"] == 100
    assert note["meta_dropped_bytes"] > 500


# ---- metadata ----


def test_metadata_past_the_budget_is_refused_and_kept_as_it_was(world: World) -> None:
    _, context = world.run()
    small = pb.JsonValue(json=b'{"a": 1}')
    world.service.SetMetadata(small, context)
    big = pb.JsonValue(json=json.dumps({"b": "x" * 300}).encode())
    for call in (world.service.SetMetadata, world.service.UpdateMetadata):
        with pytest.raises(ResourceExhausted) as caught:
            call(big, context)
        assert caught.value.details == {"resource": "metadata_bytes", "limit": 200}
    # Updates add up: they cannot grow the metadata past the budget either.
    grown = 0
    for i in range(7):
        patch = pb.JsonValue(json=json.dumps({f"k{i}": "y" * 40}).encode())
        try:
            world.service.UpdateMetadata(patch, context)
            grown += 1
        except ResourceExhausted:
            break
    assert grown < 7
    assert json_size(world.storage.get_connection(world.env_id, "c1").metadata) <= 200


# ---- records ----


def test_a_record_past_its_budget_is_refused_and_the_run_goes_on(world: World) -> None:
    run_id, context = world.run()
    with pytest.raises(ResourceExhausted) as caught:
        world.save(context, {"id": "ok"}, {"id": "big", "pad": "x" * 400})
    assert caught.value.details == {"resource": "record_bytes", "limit": 300}
    assert world.stored(run_id) == []
    assert world.storage.get_run(world.env_id, run_id).state == "running"
    world.save(context, {"id": "ok"})
    assert world.stored(run_id) == ["ok"]


def test_records_per_run_past_the_budget_fail_the_run_and_store_nothing_of_the_batch(
    world: World,
) -> None:
    run_id, context = world.run()
    world.save(context, {"id": "1"}, {"id": "2"}, {"id": "3"})
    with pytest.raises(ResourceExhausted) as caught:
        world.save(context, {"id": "4"}, {"id": "5"})
    assert caught.value.details == {"resource": "records_per_run", "limit": 4}
    assert world.stored(run_id) == ["1", "2", "3"]
    run = world.storage.get_run(world.env_id, run_id)
    assert run.state == "failed"
    assert run.error is not None
    assert run.error["type"] == "resource_exhausted"
    # The function caught the error: nothing more is stored, and success cannot clear it.
    with pytest.raises(PermissionDenied):
        world.save(context, {"id": "4"})
    assert world.storage.finish_run(run_id, True, "null", None).state == "failed"


def test_record_bytes_per_run_past_the_budget_fail_the_run(world: World) -> None:
    settings = validated({"budgets": {**SMALL, "records_per_run": 100}})
    world.storage.set_environment_settings(world.env_id, settings)
    run_id, context = world.run()
    world.save(context, {"id": "1", "pad": "x" * 250})
    refused: ResourceExhausted | None = None
    for i in range(2, 20):
        try:
            world.save(context, {"id": str(i), "pad": "x" * 250})
        except ResourceExhausted as exc:
            refused = exc
            break
    assert refused is not None
    assert refused.details == {"resource": "record_bytes_per_run", "limit": 2048}
    assert world.storage.get_run(world.env_id, run_id).state == "failed"
    assert len(world.stored(run_id)) == i - 1


def test_updates_count_against_the_bytes_budgets(world: World) -> None:
    run_id, context = world.run()
    world.save(context, {"id": "1"})
    patch = pb.RecordBatch(
        model="Item", records=[pb.Record(id="1", json=json.dumps({"pad": "x" * 400}).encode())]
    )
    with pytest.raises(ResourceExhausted):
        world.service.BatchUpdate(patch, context)
    stored = world.storage.get_records_by_id(
        RecordScope(world.env_id, "c1", "Item", "base", run_id), ["1"]
    )
    assert json.loads(stored["1"].json) == {"id": "1"}


def test_the_meter_of_dry_runs_keeps_the_same_budgets() -> None:
    meter = RunMeter(budgets_for({"budgets": SMALL}))
    kept = [meter.admit_log(f"l{i}", "") for i in range(7)]
    assert kept.count(None) == 2
    assert meter.logs_dropped == 2
    meter.charge_records([("1", b"{}")] * 4)
    with pytest.raises(ResourceExhausted):
        meter.charge_records([("5", b"{}")])
    with pytest.raises(ResourceExhausted):
        RunMeter(Budgets(record_bytes=64)).charge_records([("x", b"x" * 65)])


# ---- paging by size ----


def test_pages_stop_by_size_and_always_hold_one_row() -> None:
    page, more = sized([10, 10, 10, 10], lambda n: n, max_bytes=40)
    assert (page, more) == ([10, 10], True)
    page, more = sized([100, 1], lambda n: n, max_bytes=40)
    assert (page, more) == ([100], True)
    page, more = sized([1, 1], lambda n: n, max_bytes=40)
    assert (page, more) == ([1, 1], False)
    filler = PageFiller(max_bytes=100)
    big = api_pb.LogLine(message="x" * 500)
    assert filler.add(big)
    assert not filler.add(api_pb.LogLine(message="y"))


def test_cursors_are_opaque_and_checked() -> None:
    cursor = encode_cursor("logs", "17")
    assert decode_cursor("logs", cursor) == "17"
    assert decode_cursor("logs", "") == ""
    for bad in (encode_cursor("runs", "17"), "!!", "bm9wZQ"):
        with pytest.raises(InvalidRequest):
            decode_cursor("logs", bad)
    assert decode_number_cursor("logs", cursor) == 17
    assert decode_number_cursor("logs", "") == 0
    for value in ("x", "-1", str(2**63), "١٢", "9" * 5000, "1\xb2"):
        with pytest.raises(InvalidRequest):
            decode_number_cursor("logs", encode_cursor("logs", value))
