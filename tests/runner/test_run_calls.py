"""The per-run wrappers overwrite what a breached worker could forge in a well-formed request:
the checkpoint version a save is made on, a record's content hash, a log line's time."""

from __future__ import annotations

import time

import pytest
from google.protobuf.message import Message

from corral.errors import RunFailure
from corral.v1 import callbacks_pb2 as pb
from runner.host._run_calls import RunCalls

DEADLINE = time.monotonic() + 60


class Recorder:
    """Records each request; answers a checkpoint call with version 3."""

    def __init__(self) -> None:
        self.requests: list[Message] = []

    def call(self, rpc: str, request: Message, deadline: float) -> Message:
        del deadline
        self.requests.append(request)
        answer = _response_type(rpc)()
        if isinstance(answer, pb.Checkpoint):
            answer.json, answer.version = b"{}", 3
        return answer


def _response_type(rpc: str) -> type[Message]:
    method = pb.DESCRIPTOR.services_by_name["RunnerCallbacks"].methods_by_name[rpc]
    response: type[Message] = getattr(pb, method.output_type.name)
    return response


class WrongAnswer:
    """A callback handler that answers every call with an empty message, whatever the RPC."""

    def call(self, rpc: str, request: Message, deadline: float) -> Message:
        return pb.Empty()


def test_an_answer_of_the_wrong_type_never_reaches_the_worker() -> None:
    calls = RunCalls(WrongAnswer())
    request = pb.RecordBatch(model="M")
    with pytest.raises(RunFailure) as caught:
        calls.call("BatchSave", request, time.monotonic() + 5)
    assert caught.value.code == "runner_error"
    assert "RecordBatchResult" in caught.value.message
    with pytest.raises(RunFailure):
        calls.call("GetMetadata", pb.Empty(), time.monotonic() + 5)
    answered = RunCalls(Recorder()).call("GetMetadata", pb.Empty(), time.monotonic() + 5)
    assert isinstance(answered, pb.JsonValue)


def test_a_forged_expected_version_is_replaced_by_the_one_the_run_saw() -> None:
    handler = Recorder()
    calls = RunCalls(handler)
    calls.call(
        "SaveCheckpoint", pb.SaveCheckpointRequest(json=b"{}", expected_version=99), DEADLINE
    )
    calls.call(
        "SaveCheckpoint", pb.SaveCheckpointRequest(json=b"{}", expected_version=99), DEADLINE
    )
    first, second = handler.requests
    assert isinstance(first, pb.SaveCheckpointRequest)
    assert isinstance(second, pb.SaveCheckpointRequest)
    assert not first.HasField("expected_version")  # nothing read yet
    assert second.expected_version == 3


def test_the_log_time_is_the_runners_and_a_record_goes_on_as_sent() -> None:
    # A record's hash is the serve's own (tests/orchestrator/test_records_canonical.py).
    handler = Recorder()
    calls = RunCalls(handler)
    record = pb.Record(id="1", json=b'{"id":"1"}', content_hash="0" * 64)
    calls.call("BatchSave", pb.RecordBatch(model="M", records=[record]), DEADLINE)
    before = time.time()
    calls.call("Log", pb.LogRequest(level="info", message="m", timestamp=1.0), DEADLINE)
    batch, line = handler.requests
    assert isinstance(batch, pb.RecordBatch)
    assert isinstance(line, pb.LogRequest)
    assert batch.records[0] == record
    assert line.timestamp >= before
    assert line.meta_json == b"[]"
