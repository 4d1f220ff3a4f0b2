"""The boundary helpers the fuzz tests lean on: strict JSON, bounded statuses."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from google.rpc import error_details_pb2, status_pb2

from corral import _grpc_errors, _json
from corral.errors import InvalidRequest, NotFound, RunFailure


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": -Infinity}', "Infinity"),
        ('{"a": 1e999}', "out of range"),
        ('{"a": "\\ud800"}', "surrogate"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'\xef\xbb\xbf{"a": 1}', "BOM"),
        ('{"a": 1}'.encode("utf-16"), "not UTF-8"),
        ("[" * 10_000 + "]" * 10_000, "deeper than 128"),
        ("[" * 129 + "]" * 129, "deeper than 128"),
        ("{", "not valid JSON"),
    ],
)
def test_json_that_does_not_round_trip_is_refused(text: str | bytes, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why) as caught:
        _json.loads(text, what="input_json")
    assert caught.value.code == "invalid_json"
    assert "input_json" in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "\\ud83d\\ude00"}',
        '{"a": "\\u0000"}',
        "[" * 128 + "]" * 128,
        '{"a": 1' + "0" * 100 + "}",
        b'{"a": "\xc3\xa9"}',
    ],
)
def test_unusual_but_sound_json_is_accepted(text: str | bytes) -> None:
    value = _json.loads(text, what="x")
    assert json.loads(json.dumps(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        {"id": "1", "t": "é ✓ \U0001f600", "n": [1, -2.5, 1e300, None, True], "o": {"": {}}},
        [],
        '\u0000\n"',
        2**70,
        {"b": 1, "a": 2},
    ],
)
def test_compact_writes_what_json_dumps_writes(value: object) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert _json.compact(value) == expected


@pytest.mark.parametrize("value", [float("nan"), {"a": [float("inf")]}, -float("inf")])
def test_compact_refuses_what_is_not_json(value: object) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        _json.compact(value)


def test_the_wrong_shape_is_named() -> None:
    with pytest.raises(InvalidRequest, match="must be a JSON object, not an array"):
        _json.loads_object("[1]", what="metadata_json")


def _parts(err: Exception) -> tuple[str, error_details_pb2.ErrorInfo, int]:
    assert isinstance(err, NotFound | RunFailure)
    status = _grpc_errors.to_status(err)
    raw = dict(status.trailing_metadata)["grpc-status-details-bin"]
    parsed = status_pb2.Status.FromString(raw)
    info = error_details_pb2.ErrorInfo()
    parsed.details[0].Unpack(info)
    # What goes on the wire: the details in base64, the message percent-encoded.
    return parsed.message, info, len(raw) * 4 // 3 + len(quote(status.details))


def test_a_status_stays_small_enough_for_any_client_whatever_the_error() -> None:
    err = NotFound(f"no connection {'x' * 3_000_000!r}", code="unknown_connection")
    message, info, size = _parts(err)
    assert size < 6000  # a client refuses trailers above 8 KiB
    assert message.startswith("no connection 'xxx")
    assert message.endswith("bytes, cut)")
    assert info.reason == "unknown_connection"


def test_a_big_run_failure_keeps_its_run_id_and_says_it_was_cut() -> None:
    err = RunFailure(
        "action_script_failure",
        "the action raised ActionError \U0001f525" * 200,
        payload={"echo": "x" * 1_000_000, "items": list(range(10_000))},
        details={"run_id": "run-1"},
    )
    _, info, size = _parts(err)
    assert size < 8000
    details = json.loads(info.metadata["details"])
    assert details["run_id"] == "run-1"
    assert details["truncated"] is True
    assert len(info.metadata["details"].encode()) <= _grpc_errors.MAX_DETAILS_BYTES
    assert info.metadata["run_failure"] == "true"


def test_a_small_error_is_sent_whole() -> None:
    err = RunFailure("action_script_failure", "no", payload={"a": 1}, details={"run_id": "r"})
    message, info, _ = _parts(err)
    assert message == "no"
    assert json.loads(info.metadata["details"]) == {
        "run_id": "r",
        "payload": {"a": 1},
        "file": "",
        "line": 0,
    }
