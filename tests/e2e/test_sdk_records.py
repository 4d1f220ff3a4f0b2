"""Records, checkpoints and variants through the whole path: serve, deploy, trigger, read back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from corral.cli import Client
from corral.errors import RunFailure
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.fake_api import FakeApi, Seen
from tests.support.service import Service

ITEMS = (
    h.ITEM_MODEL
    + """
from nango import create_sync

def fetch(nango):
    plan = nango.get_metadata().get('plan') or {}
    if plan.get('track'):
        nango.track_deletes_start('Item')
    if 'save' in plan:
        nango.batch_save(plan['save'], 'Item')
    if plan.get('many'):
        nango.batch_save([{'id': f'm{i}', 'name': 'n'} for i in range(plan['many'])], 'Item')
    if plan.get('delete'):
        nango.batch_delete(plan['delete'], 'Item')
    if plan.get('update'):
        nango.batch_update(plan['update'], 'Item')
    if plan.get('lookup'):
        nango.update_metadata({'found': nango.get_records_by_id(plan['lookup'], 'Item')})
    if plan.get('big'):
        nango.batch_save([{'id': f'b{i}', 'name': 'x' * 6000} for i in range(plan['big'])], 'Item')
        found = nango.get_records_by_id([f'b{i}' for i in range(plan['big'])], 'Item')
        nango.update_metadata({'found_count': len(found)})
    if plan.get('fail'):
        raise ValueError('planned failure')
    if plan.get('track'):
        nango.track_deletes_end('Item')
    nango.update_metadata({'variant_seen': nango.variant})

# Triggered by the tests only: no scheduled run may interleave with them.
sync = create_sync(description='items', frequency='every hour', auto_start=False,
                   models={'Item': Item}, exec=fetch)
"""
)

CHECKPOINTS = """
from nango import create_sync
from pydantic import BaseModel

class Cursor(BaseModel):
    after: str

def fetch(nango):
    plan = nango.get_metadata().get('cp') or {}
    nango.update_metadata({'cp_seen': nango.get_checkpoint()})
    if plan.get('gate'):
        nango.get(endpoint='/gate')
    if 'save' in plan:
        nango.save_checkpoint(plan['save'])
    if plan.get('clear'):
        nango.clear_checkpoint()

sync = create_sync(description='cp', frequency='every 5 minutes', auto_start=False,
                   checkpoint=Cursor, exec=fetch)
"""


@pytest.fixture(scope="module")
def store(service: Service, fake_api: FakeApi) -> Iterator[Client]:
    with Client(service.address, service.secret_key, timeout=60) as client:
        files = {"items.py": ITEMS, "cp.py": CHECKPOINTS, "cp_other.py": CHECKPOINTS}
        h.setup(client, "store", files, fake_api.url, connection="base")
        yield client


_connections = iter(range(1_000))


def _connect(client: Client, **metadata: Any) -> str:
    cid = f"c{next(_connections)}"
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration="store", connection_id=cid, metadata_json=json.dumps(metadata)
        ),
    )
    return cid


def _plan(client: Client, cid: str, **plan: Any) -> None:
    client.call(
        "UpdateMetadata",
        pb.SetMetadataRequest(connection_id=cid, metadata_json=json.dumps({"plan": plan})),
    )


def _cp(client: Client, cid: str, **plan: Any) -> None:
    client.call(
        "UpdateMetadata",
        pb.SetMetadataRequest(connection_id=cid, metadata_json=json.dumps({"cp": plan})),
    )


def test_batch_save_upserts_and_leaves_unchanged_records_alone(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": "1", "name": "a"}, {"id": "2", "name": "b"}])
    h.sync(store, "items", cid)
    first = h.records(store, "Item", cid)
    time.sleep(0.01)
    _plan(
        store,
        cid,
        save=[{"id": "1", "name": "a"}, {"id": "2", "name": "B"}, {"id": "3", "name": "c"}],
    )
    h.sync(store, "items", cid)
    after = h.records(store, "Item", cid)
    assert after["1"]["_nango_metadata"] == first["1"]["_nango_metadata"]
    assert after["2"]["name"] == "B"
    assert after["2"]["_nango_metadata"]["last_action"] == "UPDATED"
    assert after["3"]["_nango_metadata"]["last_action"] == "ADDED"


def test_a_sync_saving_again_hashes_first_keeps_what_did_not_change(store: Client) -> None:
    # Batches of 50 records or more go hashes first: the serve holds the unchanged ones
    # without their JSON, the others follow in full; a running deletion tracking sees both.
    cid = _connect(store)
    _plan(store, cid, save=[{"id": f"r{n}", "name": "n"} for n in range(120)])
    h.sync(store, "items", cid)
    before = h.records(store, "Item", cid)
    again = [{"id": f"r{n}", "name": "changed" if n < 10 else "n"} for n in range(110)]
    _plan(store, cid, track=True, save=[{"id": "new", "name": "n"}, *again])
    h.sync(store, "items", cid)
    after = h.records(store, "Item", cid)
    actions = {i: r["_nango_metadata"]["last_action"] for i, r in after.items()}
    assert {i for i, a in actions.items() if a == "DELETED"} == {f"r{n}" for n in range(110, 120)}
    assert {i for i, a in actions.items() if a == "UPDATED"} == {f"r{n}" for n in range(10)}
    assert all(after[f"r{n}"]["name"] == "changed" for n in range(10))
    assert all(after[f"r{n}"] == before[f"r{n}"] for n in range(10, 110))
    assert actions["new"] == "ADDED"


def test_the_last_of_two_records_with_one_id_wins(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": "1", "name": "first"}, {"id": "1", "name": "last"}])
    h.sync(store, "items", cid)
    assert h.records(store, "Item", cid)["1"]["name"] == "last"


def test_a_large_list_is_stored_whole(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, many=2500)
    h.sync(store, "items", cid)
    assert len(h.records(store, "Item", cid)) == 2500


def test_large_records_come_back_from_get_records_by_id(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, big=1000)  # 6 MB in one answer: past gRPC's default 4 MB
    h.sync(store, "items", cid)
    assert h.metadata(store, cid)["found_count"] == 1000


def test_batch_delete_is_soft(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": "1", "name": "a"}, {"id": "2", "name": "b"}])
    h.sync(store, "items", cid)
    _plan(store, cid, delete=[{"id": "2", "name": "ignored"}, {"id": "404"}])
    h.sync(store, "items", cid)
    deleted = h.records(store, "Item", cid, filter="deleted")
    assert list(deleted) == ["2"]
    assert deleted["2"]["name"] == "b"
    assert deleted["2"]["_nango_metadata"]["deleted_at"]
    assert h.records(store, "Item", cid)["1"]["_nango_metadata"]["last_action"] == "ADDED"


def test_batch_update_deep_merges_replaces_arrays_and_ignores_unknown_ids(store: Client) -> None:
    cid = _connect(store)
    record = {"id": "1", "name": "a", "tags": ["x", "y"], "info": {"a": 1, "b": {"c": 2, "d": 3}}}
    _plan(store, cid, save=[record])
    h.sync(store, "items", cid)
    _plan(store, cid, update=[{"id": "1", "tags": ["z"], "info": {"b": {"d": 4}}}, {"id": "nope"}])
    h.sync(store, "items", cid)
    stored = h.records(store, "Item", cid)
    assert set(stored) == {"1"}
    merged = {k: v for k, v in stored["1"].items() if k != "_nango_metadata"}
    assert merged == {
        "id": "1",
        "name": "a",
        "tags": ["z"],
        "info": {"a": 1, "b": {"c": 2, "d": 4}},
    }


def test_get_records_by_id_returns_the_found_ones_deleted_ones_marked(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": "1", "name": "a"}, {"id": "2", "name": "b"}])
    h.sync(store, "items", cid)
    _plan(store, cid, delete=[{"id": "2"}])
    h.sync(store, "items", cid)
    _plan(store, cid, lookup=["2", "missing", "1"])
    h.sync(store, "items", cid)
    found = h.metadata(store, cid)["found"]
    assert found == h.records(store, "Item", cid)
    assert found["1"]["_nango_metadata"]["deleted_at"] is None
    assert found["2"]["_nango_metadata"]["last_action"] == "DELETED"
    assert found["2"]["_nango_metadata"]["deleted_at"]
    assert {k: v for k, v in found["2"].items() if k != "_nango_metadata"} == {
        "id": "2",
        "name": "b",
    }


def test_track_deletes_marks_what_the_run_did_not_save(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": str(n), "name": "n"} for n in range(1, 4)])
    h.sync(store, "items", cid)
    _plan(store, cid, track=True, save=[{"id": "1", "name": "n"}, {"id": "2", "name": "changed"}])
    h.sync(store, "items", cid)
    assert list(h.records(store, "Item", cid, filter="deleted")) == ["3"]
    assert h.records(store, "Item", cid, filter="added,updated").keys() == {"1", "2"}


def test_a_failed_run_marks_nothing_deleted(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": "1", "name": "n"}, {"id": "2", "name": "n"}])
    h.sync(store, "items", cid)
    _plan(store, cid, track=True, save=[{"id": "1", "name": "n"}], fail=True)
    with pytest.raises(RunFailure, match="planned failure"):
        h.sync(store, "items", cid)
    assert not h.records(store, "Item", cid, filter="deleted")
    _plan(store, cid, save=[])
    h.sync(store, "items", cid)  # a later run without tracking deletes nothing either
    assert not h.records(store, "Item", cid, filter="deleted")


def test_variants_see_their_name_and_keep_their_own_records(store: Client) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": "e1", "name": "eu"}])
    h.sync(store, "items", cid, variant="eu")
    assert h.metadata(store, cid)["variant_seen"] == "eu"
    assert list(h.records(store, "Item", cid, variant="eu")) == ["e1"]
    assert not h.records(store, "Item", cid)
    h.sync(store, "items", cid)
    assert h.metadata(store, cid)["variant_seen"] == "base"


def test_an_invalid_record_fails_the_run_unless_validation_is_off(
    store: Client, service: Service
) -> None:
    cid = _connect(store)
    _plan(store, cid, save=[{"id": "1"}])
    with pytest.raises(RunFailure) as caught:
        h.sync(store, "items", cid)
    assert caught.value.code == "invalid_sync_record"
    assert caught.value.payload[0]["loc"] == ["name"]
    h.set_env_settings(service, {"validation": False})
    try:
        h.sync(store, "items", cid)
    finally:
        h.set_env_settings(service, {})
    assert h.records(store, "Item", cid)["1"]["id"] == "1"


def test_checkpoints_are_saved_read_cleared_and_reset(store: Client) -> None:
    cid = _connect(store)
    _cp(store, cid, save={"after": "a1"})
    h.sync(store, "cp", cid)
    assert h.metadata(store, cid)["cp_seen"] is None
    _cp(store, cid, clear=False)
    h.sync(store, "cp", cid)
    assert h.metadata(store, cid)["cp_seen"] == {"after": "a1"}
    _cp(store, cid, clear=True)
    h.sync(store, "cp", cid)
    h.sync(store, "cp", cid)
    assert h.metadata(store, cid)["cp_seen"] is None
    _cp(store, cid, save={"after": "a2"})
    h.sync(store, "cp", cid)
    _cp(store, cid)
    h.sync(store, "cp", cid, reset=True)
    assert h.metadata(store, cid)["cp_seen"] is None


def test_checkpoints_are_scoped_to_connection_function_and_variant(store: Client) -> None:
    cid, other = _connect(store), _connect(store)
    _cp(store, cid, save={"after": "mine"})
    h.sync(store, "cp", cid)
    _cp(store, cid)
    for name, variant in (("cp_other", ""), ("cp", "eu")):
        h.sync(store, name, cid, variant=variant)
        assert h.metadata(store, cid)["cp_seen"] is None, (name, variant)
    h.sync(store, "cp", other)
    assert h.metadata(store, other)["cp_seen"] is None
    h.sync(store, "cp", cid)
    assert h.metadata(store, cid)["cp_seen"] == {"after": "mine"}


def test_a_connection_made_again_after_delete_starts_empty(store: Client) -> None:
    cid = _connect(store, owner="old")
    _plan(store, cid, save=[{"id": "1", "name": "a"}, {"id": "2", "name": "b"}])
    h.sync(store, "items", cid)
    _plan(store, cid, delete=[{"id": "2"}])
    h.sync(store, "items", cid)
    _cp(store, cid, save={"after": "old"})
    h.sync(store, "cp", cid)
    assert sorted(h.records(store, "Item", cid)) == ["1", "2"]
    assert list(h.records(store, "Item", cid, filter="deleted")) == ["2"]
    assert h.metadata(store, cid)["owner"] == "old"

    store.call("DeleteConnection", pb.DeleteConnectionRequest(connection_id=cid))
    store.call(
        "CreateConnection",
        pb.CreateConnectionRequest(integration="store", connection_id=cid, metadata_json="{}"),
    )

    assert h.metadata(store, cid) == {}
    assert h.records(store, "Item", cid) == {}
    assert h.records(store, "Item", cid, filter="deleted") == {}
    h.sync(store, "cp", cid)
    assert h.metadata(store, cid) == {"cp_seen": None}
    _plan(store, cid, track=True, save=[{"id": "3", "name": "c"}])
    h.sync(store, "items", cid)  # a deletion tracking of the new connection sees only its own
    assert list(h.records(store, "Item", cid)) == ["3"]
    assert h.records(store, "Item", cid, filter="deleted") == {}


def test_an_invalid_checkpoint_fails_the_run(store: Client) -> None:
    cid = _connect(store)
    _cp(store, cid, save={"after": 5})
    with pytest.raises(RunFailure) as caught:
        h.sync(store, "cp", cid)
    assert caught.value.code == "invalid_checkpoint"


def test_a_second_writer_makes_the_stale_save_fail(store: Client, fake_api: FakeApi) -> None:
    cid = _connect(store)
    release = threading.Event()
    arrivals: list[int] = []

    def gate(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        arrivals.append(1)
        if len(arrivals) == 1:
            release.wait(20)
        return 200, {}, {}

    fake_api.routes[("GET", "/gate")] = gate
    _cp(store, cid, gate=True, save={"after": "from both"})
    request = pb.TriggerSyncRequest(sync_name="cp", connection_id=cid, **{"async": True})
    first = store.call("TriggerSync", request).run_id
    deadline = time.monotonic() + 20
    while not arrivals and time.monotonic() < deadline:
        time.sleep(0.02)
    h.sync(store, "cp", cid)  # the second writer reads, passes the gate and saves
    release.set()
    run = store.call("GetRun", pb.GetRunRequest(run_id=first))
    while run.state in (pb.RUN_STATE_QUEUED, pb.RUN_STATE_RUNNING) and time.monotonic() < deadline:
        time.sleep(0.02)
        run = store.call("GetRun", pb.GetRunRequest(run_id=first))
    assert run.state == pb.RUN_STATE_FAILED
    assert run.error.type == "checkpoint_conflict"
