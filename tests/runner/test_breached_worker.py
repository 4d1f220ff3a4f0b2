"""The host treats every worker as breached: forged, malformed, slow and oversized frames.

Each case is a real forked worker playing raw bytes at the host (``hostile.py``). Whatever it
sends, the run ends with a typed error, nothing it sent reaches the callback handler (the store)
unless it is a well-formed call, and the wall clock holds.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from runner._service import run_response
from tests.runner.hostile import Answers, converses, frame, play, sends, trickles


def _error_type(outcome: Any) -> str:
    assert not outcome.ok
    assert outcome.error is not None
    run_response(outcome)  # whatever the worker sent, the Run RPC can carry the result
    return str(outcome.error["type"])


def _call(method: str, args: Any, call_id: Any = 1) -> bytes:
    return frame({"op": "call", "id": call_id, "method": method, "args": args})


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
    "lone_surrogate_log": _call("log", {"level": "info", "message": "\udc80"}),
    "nested_129": frame(b'{"op": "done", "ok": true, "output": ' + b"[" * 129 + b"]" * 129 + b"}"),
    "nested_900": frame(b'{"op": "done", "ok": true, "output": ' + b"[" * 900 + b"]" * 900 + b"}"),
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
    "call_id_text": _call("log", {}, call_id="1"),
    "call_args_list": _call("log", []),
    "call_method_not_name": _call("log; drop", {}),
    "record_id_object": _call("batch_save", {"model": "M", "records": [{"id": {"a": 1}}]}),
    "record_id_float": _call("batch_save", {"model": "M", "records": [{"id": 1.5}]}),
    "record_id_list": _call("batch_update", {"model": "M", "records": [{"id": [1]}]}),
    "record_id_bool": _call("batch_delete", {"model": "M", "records": [{"id": True}]}),
    "record_id_empty": _call("batch_save", {"model": "M", "records": [{"id": ""}]}),
    "record_id_missing": _call("batch_save", {"model": "M", "records": [{"name": "x"}]}),
    "record_not_object": _call("batch_save", {"model": "M", "records": ["x"]}),
    "records_not_list": _call("batch_save", {"model": "M", "records": {"id": 1}}),
    "ids_objects": _call("get_records_by_id", {"model": "M", "ids": [{"x": 1}]}),
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
    good = _call("log", {"level": "info", "message": "fine"})
    outcome = play(converses(good, BAD_FRAMES["nan"]), handler)
    assert _error_type(outcome) == "worker_protocol_violation"
    assert handler.calls == [("log", {"level": "info", "message": "fine"})]


def test_well_formed_ids_and_results_pass() -> None:
    handler = Answers()
    records = [{"id": "a"}, {"id": 7}, {"id": -3}]
    outcome = play(
        converses(
            _call("batch_save", {"model": "M", "records": records}),
            frame({"op": "done", "ok": True, "output": {"deep": [[[1]]], "text": "é✓"}}),
        ),
        handler,
    )
    assert outcome.ok, outcome.error
    assert outcome.output == {"deep": [[[1]]], "text": "é✓"}
    assert handler.calls == [("batch_save", {"model": "M", "records": records})]


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
            sock.sendall(_call("log", {"level": "info", "message": big}, call_id=number))

    started = time.monotonic()
    outcome = play(flood, wall_seconds=1.5)
    assert time.monotonic() - started < 10
    assert _error_type(outcome) in {"execution_timeout", "runner_error"}


def test_a_worker_that_shuts_its_read_side_gets_a_typed_error() -> None:
    def half_close(sock: socket.socket) -> None:
        sock.shutdown(socket.SHUT_RD)
        sock.sendall(_call("log", {"level": "info", "message": "x"}))
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
    calls = [_call("log", {"level": "info", "message": chunk}, call_id=n) for n in range(20)]
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
