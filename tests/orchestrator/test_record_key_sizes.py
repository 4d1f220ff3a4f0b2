"""The parts of a record's key a function names are bounded: a model name at most 255
characters at every record call, a record id at most 1,024 bytes when saved (the store's own
test: ``test_records``). A longer one is refused, typed, before anything is stored."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from corral.errors import InvalidRequest
from corral.v1 import callbacks_pb2 as pb
from orchestrator.callbacks._records import MAX_MODEL_LENGTH
from tests.orchestrator.callbacks_world import World, callbacks_world


@pytest.fixture
def world(tmp_path: pathlib.Path) -> Iterator[World]:
    with callbacks_world(tmp_path, {}) as made:
        yield made


def _calls(model: str) -> dict[str, object]:
    batch = pb.RecordBatch(model=model, records_json=b'[{"id": "1"}]')
    return {
        "BatchSave": batch,
        "BatchDelete": batch,
        "BatchUpdate": batch,
        "GetRecordsById": pb.GetRecordsByIdRequest(model=model, ids=["1"]),
        "TrackDeletesStart": pb.ModelRequest(model=model),
    }


def test_a_model_name_of_255_characters_is_taken_everywhere(world: World) -> None:
    _, context = world.run()
    model = "M" * MAX_MODEL_LENGTH
    for rpc, request in _calls(model).items():
        getattr(world.service, rpc)(request, context)
    records, _ = world.storage.list_records(world.env_id, "c1", model, variant="base")
    assert [record.id for record in records] == ["1"]


@pytest.mark.parametrize("rpc", sorted(_calls("M")))
def test_a_longer_model_name_is_refused_typed_and_stores_nothing(world: World, rpc: str) -> None:
    _, context = world.run()
    model = "M" * (MAX_MODEL_LENGTH + 1)
    with pytest.raises(InvalidRequest) as caught:
        getattr(world.service, rpc)(_calls(model)[rpc], context)
    assert caught.value.code == "invalid_sync_record"
    # Refused, not cut to fit: nothing under the name's first 255 characters either.
    kept = model[:MAX_MODEL_LENGTH]
    assert world.storage.list_records(world.env_id, "c1", kept, variant="base")[0] == []
