"""The host treats every worker as breached: forged, malformed, slow and oversized frames.

Each case is a real forked worker playing raw bytes at the host (``hostile.py``). Whatever it
sends, the run ends with a typed error, nothing it sent reaches the callback handler (the store)
unless it is a well-formed call, and the wall clock holds.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from typing import Any

import pytest
from google.protobuf.message import Message

from corral.v1 import callbacks_pb2 as pb
from corral.v1 import runner_pb2
from runner._metrics import RunnerMetrics
from runner._service import run_response
from tests.runner.hostile import Answers, converses, frame, play, sends, trickles


def _error_type(outcome: Any) -> str:
    assert not outcome.ok
    assert outcome.error is not None
    run_response(outcome)  # whatever the worker sent, the Run RPC can carry the result
    return str(outcome.error["type"])


def _raw_call(rpc: Any, request: Any, call_id: Any = 1) -> bytes:
    """A call frame with any fields, as a breached worker may forge it."""
    return frame({"op": "call", "id": call_id, "rpc": rpc, "request": request})


def _call(rpc: str, request: bytes | Message, call_id: Any = 1) -> bytes:
    """A call frame carrying a request message (or raw bytes in its place)."""
    data = request if isinstance(request, bytes) else request.SerializeToString()
    return _raw_call(rpc, base64.b64encode(data).decode(), call_id)


def _log(message: str) -> pb.LogRequest:
    return pb.LogRequest(level="info", message=message)


def _batch(*records: bytes, record_id: str = "1") -> pb.RecordBatch:
    """A batch of records with these JSON texts, each claiming ``record_id``."""
    return pb.RecordBatch(model="M", records=[pb.Record(id=record_id, json=r) for r in records])


def _json_batch(data: bytes) -> pb.RecordBatch:
    return pb.RecordBatch(model="M", records_json=data)


def _hashes(ids_json: bytes, count: int) -> pb.RecordBatch:
    """A hashes-first batch: these ids, ``count`` digests."""
    return pb.RecordBatch(model="M", ids_json=ids_json, content_hashes=bytes(32 * count))


def _records(*values: Any) -> pb.RecordBatch:
    """Per-record messages, as older senders wrote them (compact JSON each)."""
    records = []
    for value in values:
        data = json.dumps(value, separators=(",", ":")).encode()
        records.append(pb.Record(id=str(value["id"]), json=data))
    return pb.RecordBatch(model="M", records=records)


BAD_FRAMES = {
    "not_json": frame(b"{nope"),
    "not_utf8": frame(b'{"op": "done", "ok": true, "output": "\xff\xfe"}'),
    "utf16": frame('{"op": "done", "ok": true}'.encode("utf-16")),
    "nan": frame(b'{"op": "done", "ok": true, "output": NaN}'),
    "infinity": frame(b'{"op": "done", "ok": true, "output": [-Infinity]}'),
    "huge_number": frame(b'{"op": "done", "ok": true, "output": 1e999}'),
    "lone_surrogate_output": frame(b'{"op": "done", "ok": true, "output": "\\ud800"}'),
    "lone_surrogate_error": frame(
        b'{"op": "done", "ok": false, "error": {"type": "x", "message": "\\udfff"}}'
    ),
    # the message field (2) of a LogRequest holding a surrogate encoded as UTF-8 would be
    "lone_surrogate_log": _call("Log", b"\x0a\x04info\x12\x03\xed\xb2\x80"),
    "lone_surrogate_call": _raw_call("Log\udc80", ""),
    "lone_surrogate_log_meta": _call("Log", pb.LogRequest(meta_json=b'["\\udc80"]')),
    "nested_129": frame(b'{"op": "done", "ok": true, "output": ' + b"[" * 129 + b"]" * 129 + b"}"),
    "nested_900": frame(b'{"op": "done", "ok": true, "output": ' + b"[" * 900 + b"]" * 900 + b"}"),
    "nested_129_checkpoint": _call(
        "SaveCheckpoint", pb.SaveCheckpointRequest(json=b"[" * 129 + b"]" * 129)
    ),
    "not_an_object": frame([1, 2]),
    "unknown_op": frame({"op": "reply", "id": 1, "ok": True}),
    "no_op": frame({"ok": True}),
    "ok_not_bool": frame({"op": "done", "ok": 1, "output": 1}),
    "error_not_object": frame({"op": "done", "ok": False, "error": "boom"}),
    "error_type_not_text": frame({"op": "done", "ok": False, "error": {"type": 7}}),
    "error_line_negative": frame(
        {"op": "done", "ok": False, "error": {"type": "x", "message": "", "line": -1}}
    ),
    "error_line_huge": frame(
        {"op": "done", "ok": False, "error": {"type": "x", "message": "", "line": 2**40}}
    ),
    "call_id_text": _call("Log", _log("x"), call_id="1"),
    "call_request_list": _raw_call("Log", []),
    "call_request_not_base64": _raw_call("Log", "not base64!"),
    "call_rpc_not_text": _raw_call(["Log"], ""),
    "call_rpc_not_name": _call("Log; drop", _log("x")),
    "call_rpc_unknown": _call("Shutdown", b""),
    # The fleet's service shares the orchestrator's callback port: never a worker's to call.
    "call_rpc_fleet_heartbeat": _call(
        "Heartbeat", runner_pb2.RunnerHeartbeat(runner_id="rogue", address="10.0.0.9:1", slots=1)
    ),
    "call_rpc_fleet_qualified": _call("RunnerFleet/Heartbeat", b""),
    "call_rpc_lowercase": _call("log", _log("x")),
    "request_not_protobuf": _call("Log", b"\xff\xff\xff\xff"),
    "request_unknown_field": _call("Log", _log("x").SerializeToString() + b"\xf8\x01\x01"),
    "metadata_nan": _call("SetMetadata", pb.JsonValue(json=b'{"a": NaN}')),
    "metadata_not_utf8": _call("UpdateMetadata", pb.JsonValue(json=b'{"a": "\xff"}')),
    "proxy_data_infinity": _call(
        "Proxy", pb.ProxyRequest(data=b"[Infinity]", data_is_json=True, has_data=True)
    ),
    "action_input_not_json": _call("TriggerAction", pb.TriggerActionCallRequest(input_json=b"{")),
    "record_id_object": _call("BatchSave", _batch(b'{"id": {"a": 1}}')),
    "record_id_float": _call("BatchSave", _batch(b'{"id": 1.5}', record_id="1.5")),
    "record_id_list": _call("BatchUpdate", _batch(b'{"id": [1]}', record_id="[1]")),
    "record_id_bool": _call("BatchDelete", _batch(b'{"id": true}', record_id="True")),
    "record_id_empty": _call("BatchSave", _batch(b'{"id": ""}', record_id="")),
    "record_id_missing": _call("BatchSave", _batch(b'{"name": "x"}')),
    "record_id_forged": _call("BatchSave", _batch(b'{"id": "2"}')),
    "record_not_object": _call("BatchSave", _batch(b'"x"')),
    "record_not_json": _call("BatchSave", _batch(b'{"id": "1", "v": NaN}')),
    "records_json_not_array": _call("BatchSave", _json_batch(b'{"id": "1"}')),
    "records_json_not_object": _call("BatchSave", _json_batch(b'[{"id": "1"}, 2]')),
    "records_json_id_bool": _call("BatchUpdate", _json_batch(b'[{"id": true}]')),
    "records_json_id_missing": _call("BatchSave", _json_batch(b'[{"name": "x"}]')),
    "records_json_id_empty": _call("BatchDelete", _json_batch(b'[{"id": ""}]')),
    "records_json_nan": _call("BatchSave", _json_batch(b'[{"id": "1", "v": NaN}]')),
    "records_json_lone_surrogate": _call("BatchSave", _json_batch(b'[{"id": "\\udc80"}]')),
    "records_json_not_utf8": _call("BatchSave", _json_batch(b'[{"id": "\xff"}]')),
    "records_json_nested_129": _call(
        "BatchSave", _json_batch(b'[{"id": "1", "a": ' + b"[" * 128 + b"]" * 128 + b"}]")
    ),
    "hashes_ids_not_array": _call("BatchSave", _hashes(b'{"a": 1}', 1)),
    "hashes_ids_numbers": _call("BatchSave", _hashes(b"[1, 2]", 2)),
    "hashes_ids_empty_text": _call("BatchSave", _hashes(b'[""]', 1)),
    "hashes_ids_twice": _call("BatchSave", _hashes(b'["a", "a"]', 2)),
    "hashes_ids_not_json": _call("BatchSave", _hashes(b'["a"', 1)),
    "hashes_ids_lone_surrogate": _call("BatchSave", _hashes(b'["\\udc80"]', 1)),
    "hashes_too_few": _call("BatchSave", _hashes(b'["a", "b"]', 1)),
    "hashes_too_many": _call("BatchSave", _hashes(b'["a"]', 2)),
    "hashes_a_byte_more": _call(
        "BatchSave", pb.RecordBatch(model="M", ids_json=b'["a"]', content_hashes=bytes(33))
    ),
    "hashes_without_ids": _call("BatchSave", pb.RecordBatch(model="M", content_hashes=bytes(32))),
    "hashes_on_delete": _call("BatchDelete", pb.RecordBatch(model="M", content_hashes=bytes(32))),
    # the records field (2) sent as a number, not as records
    "records_not_list": _call("BatchSave", b"\x0a\x01M\x10\x01"),
    # the ids field (2) sent as a number, not as strings
    "ids_objects": _call("GetRecordsById", b"\x0a\x01M\x10\x01"),
    "violation_without_rule": frame({"op": "violation", "message": "m"}),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_a_frame_breaking_the_rules_ends_the_run_and_reaches_nothing(name: str) -> None:
    handler = Answers()
    outcome = play(sends(BAD_FRAMES[name]), handler)
    assert _error_type(outcome) == "worker_protocol_violation", outcome.error
    assert handler.calls == []


def test_a_bad_frame_after_good_calls_still_ends_the_run() -> None:
    handler = Answers()
    good = _call("Log", _log("fine"))
    outcome = play(converses(good, BAD_FRAMES["nan"]), handler)
    assert _error_type(outcome) == "worker_protocol_violation"
    assert [(rpc, r.level, r.message) for rpc, r in handler.calls] == [("Log", "info", "fine")]


def test_well_formed_ids_and_results_pass() -> None:
    handler = Answers()
    records = [{"id": "a"}, {"id": 7}, {"id": -3}]
    outcome = play(
        converses(
            _call("BatchSave", _records(*records)),
            frame({"op": "done", "ok": True, "output": {"deep": [[[1]]], "text": "é✓"}}),
        ),
        handler,
    )
    assert outcome.ok, outcome.error
    assert outcome.output == {"deep": [[[1]]], "text": "é✓"}
    ((rpc, batch),) = handler.calls
    assert rpc == "BatchSave"
    assert batch.model == "M"
    assert [json.loads(r.json) for r in batch.records] == records
    assert [r.id for r in batch.records] == ["a", "7", "-3"]


def test_a_batch_as_one_json_array_passes_as_it_was_sent() -> None:
    handler = Answers()
    data = b'[{"id": "a"}, {"id": 7, "deep": ' + b"[" * 126 + b"]" * 126 + b"}]"
    outcome = play(
        converses(_call("BatchSave", _json_batch(data)), frame({"op": "done", "ok": True})),
        handler,
    )
    assert outcome.ok, outcome.error
    ((rpc, batch),) = handler.calls
    assert (rpc, batch.model, batch.records_json) == ("BatchSave", "M", data)


def test_a_hashes_first_batch_passes_as_it_was_sent() -> None:
    handler = Answers()
    batch = pb.RecordBatch(
        model="M", ids_json='["a", "7", "é"]'.encode(), content_hashes=bytes(range(96))
    )
    outcome = play(converses(_call("BatchSave", batch), frame({"op": "done", "ok": True})), handler)
    assert outcome.ok, outcome.error
    assert handler.calls == [("BatchSave", batch)]


def test_a_frame_sent_a_byte_at_a_time_cannot_outlive_the_wall_clock() -> None:
    data = frame({"op": "done", "ok": True, "output": "x" * 200})
    started = time.monotonic()
    outcome = play(trickles(data, 0.05), wall_seconds=1.0)
    elapsed = time.monotonic() - started
    assert _error_type(outcome) == "execution_timeout"
    assert elapsed < 5, elapsed  # the whole frame would take over 10 s


def test_a_worker_that_never_reads_its_replies_cannot_outlive_the_wall_clock() -> None:
    big = "y" * (1 << 20)

    def flood(sock: socket.socket) -> None:
        sock.shutdown(socket.SHUT_RD)
        for number in range(10_000):
            sock.sendall(_call("Log", _log(big), call_id=number))

    started = time.monotonic()
    outcome = play(flood, wall_seconds=1.5)
    assert time.monotonic() - started < 10
    assert _error_type(outcome) in {"execution_timeout", "runner_error"}


def test_a_worker_that_shuts_its_read_side_gets_a_typed_error() -> None:
    def half_close(sock: socket.socket) -> None:
        sock.shutdown(socket.SHUT_RD)
        sock.sendall(_call("Log", _log("x")))
        time.sleep(0.5)

    outcome = play(half_close, wall_seconds=5)
    assert _error_type(outcome) in {"runner_error", "execution_timeout"}


def test_a_worker_that_stalls_mid_frame_is_killed_at_its_limit() -> None:
    def stall(sock: socket.socket) -> None:
        sock.sendall(frame({"op": "done", "ok": True, "output": 1})[:6])
        time.sleep(60)

    started = time.monotonic()
    outcome = play(stall, wall_seconds=1.0)
    assert _error_type(outcome) == "execution_timeout"
    assert time.monotonic() - started < 5


def test_output_is_budgeted_per_run_across_frames() -> None:
    handler = Answers()
    chunk = "z" * 4000
    calls = [_call("Log", _log(chunk), call_id=n) for n in range(20)]
    outcome = play(
        converses(*calls, frame({"op": "done", "ok": True, "output": 1})),
        handler,
        max_output_bytes=8192,
        max_run_output_bytes=20_000,
    )
    assert _error_type(outcome) == "resource_exhausted"
    assert outcome.error is not None
    assert outcome.error["payload"] == {"resource": "output", "limit": 20_000}
    assert len(handler.calls) < 5


def test_a_forged_violation_ends_the_run_and_a_later_done_cannot_clear_it() -> None:
    violation = {"op": "violation", "rule": "private_name", "message": "m", "file": "f.py"}
    done = frame({"op": "done", "ok": True, "output": "all good"})
    outcome = play(sends(frame({**violation, "line": 3}), done))
    assert _error_type(outcome) == "sandbox_violation"
    assert outcome.error is not None
    assert outcome.error["payload"] == {"rule": "private_name"}
    assert (outcome.error["file"], outcome.error["line"]) == ("f.py", 3)


def test_an_honest_failure_with_odd_text_is_carried_as_it_is() -> None:
    error = {"type": "action_script_failure", "message": "ünïcode ✓", "payload": {"k": [1]}}
    outcome = play(sends(frame({"op": "done", "ok": False, "error": error})))
    assert _error_type(outcome) == "action_script_failure"
    assert outcome.error is not None
    assert json.loads(json.dumps(outcome.error))["message"] == "ünïcode ✓"


def test_forged_violation_rules_cannot_flood_the_runners_metrics() -> None:
    """A breached worker names whatever rule it likes: the runner's violation series keeps a
    bounded set of plain snake_case labels, however many odd names arrive."""
    metrics = RunnerMetrics(_NoHost())  # type: ignore[arg-type]
    names = [f"rule_{n}" for n in range(40)] + ["x\ny", "a" * 5000, 'q"}{']
    for name in names:
        violation = {"op": "violation", "rule": name, "message": "m", "file": "f.py", "line": 1}
        outcome = play(sends(frame(violation)))
        assert _error_type(outcome) == "sandbox_violation"
        metrics.run_ended(outcome)
    labels = {
        sample.labels["rule"]
        for family in metrics.registry.collect()
        if family.name == "corral_sandbox_violations"
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert len(labels) <= 33  # at most 32 named, then "other"
    assert "other" in labels
    assert all(label.replace("_", "").isalnum() and len(label) <= 64 for label in labels)


class _NoHost:
    """The workers collector's host, idle (this test counts violations only)."""

    def status(self) -> dict[str, int]:
        return {"runs_in_progress": 0, "idle_workers": 0}
