"""What the store keeps of a saved record is the serve's own work, whatever the sender wrote: the
record's compact JSON in UTF-8 and the sha256 of those bytes. The per-record ``records`` path
of older senders included: its ``content_hash`` is a claim of the runner host, never read, so a
breached runner host can neither make a changed record pass as unchanged nor store a hash
that is not its record's."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Iterator

import pytest

from corral.errors import InvalidRequest
from corral.v1 import callbacks_pb2 as pb
from tests.orchestrator.callbacks_world import World, callbacks_world


@pytest.fixture
def world(tmp_path: pathlib.Path) -> Iterator[World]:
    with callbacks_world(tmp_path, {}) as made:
        yield made


def _one(data: bytes, claimed: str = "") -> pb.RecordBatch:
    return pb.RecordBatch(
        model="Item", records=[pb.Record(id="1", json=data, content_hash=claimed)]
    )


def _stored(world: World) -> list[bytes]:
    records, _ = world.storage.list_records(world.env_id, "c1", "Item", variant="base")
    return [record.json for record in records]


def test_a_per_record_save_is_stored_compact_whatever_the_sender_wrote(world: World) -> None:
    _, context = world.run()
    world.service.BatchSave(_one(b'{ "id" : "1",\n "name": "\\u00e9" }', "0" * 64), context)
    assert _stored(world) == ['{"id":"1","name":"é"}'.encode()]
    # Its hash is the serve's: the same record sent again as the SDK sends it is unchanged.
    again = world.service.BatchSave(
        pb.RecordBatch(model="Item", records_json='[{"id":"1","name":"é"}]'.encode()), context
    )
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)


def test_a_forged_hash_cannot_make_a_changed_record_pass_as_unchanged(world: World) -> None:
    _, context = world.run()
    old = b'{"id":"1","v":1}'
    world.service.BatchSave(_one(old), context)
    forged = world.service.BatchSave(
        _one(b'{"id":"1","v":2}', hashlib.sha256(old).hexdigest()), context
    )
    assert (forged.updated, forged.unchanged) == (1, 0)
    assert _stored(world) == [b'{"id":"1","v":2}']


@pytest.mark.parametrize(
    "data", [b'{"id":"1","v":NaN}', b'{"id":"1","v":Infinity}', b'{"id":"1","v":"\\ud800"}']
)
def test_a_per_record_save_the_store_could_not_serve_back_is_refused(
    world: World, data: bytes
) -> None:
    _, context = world.run()
    with pytest.raises(InvalidRequest) as caught:
        world.service.BatchSave(_one(data), context)
    assert caught.value.code == "invalid_sync_record"
    assert _stored(world) == []


def test_a_per_record_patch_is_read_the_same_way(world: World) -> None:
    _, context = world.run()
    world.service.BatchSave(_one(b'{"id":"1","a":{"b":1}}'), context)
    patch = pb.RecordBatch(model="Item", records=[pb.Record(id="1", json=b'{ "a" : {"c":2} }')])
    world.service.BatchUpdate(patch, context)
    assert _stored(world) == [b'{"id":"1","a":{"b":1,"c":2}}']
