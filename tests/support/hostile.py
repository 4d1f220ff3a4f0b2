"""Hostile values for the fuzz tests: bad strings, bad JSON, bad numbers, bad protobuf bytes.

Every generator is deterministic (fixed lists, or ``random.Random`` with a fixed seed), so a
failing case names itself and comes back on the next run. Sizes are bounded so that a whole
barrage stays within seconds on two shared cores.
"""

from __future__ import annotations

import base64
import json
import random

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from corral._grpc_errors import error_info as status_error_info

MB = 1 << 20

ALLOWED_CODES = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
"""What a call with bad input may end with: a typed refusal or success, never UNKNOWN/INTERNAL."""


def deep_array(depth: int) -> str:
    """``[[[...]]]`` nested ``depth`` levels."""
    return "[" * depth + "]" * depth


def deep_object(depth: int) -> str:
    """``{"a":{"a":...1}}`` nested ``depth`` levels."""
    return '{"a":' * depth + "1" + "}" * depth


HUGE = "x" * (3 * MB)
"""A string of a few megabytes (well under the 64 MiB message limit)."""

STRINGS: tuple[tuple[str, str], ...] = (
    ("empty", ""),
    ("space", " "),
    ("nul", "a\x00b"),
    ("only_nul", "\x00"),
    ("control", "\x01\x07\x1b[31m"),
    ("newline_suffix", "c1\n"),
    ("header_injection", "x\r\nX-Injected: 1"),
    ("long", "y" * 1000),
    ("huge", HUGE),
    ("confusable_cyrillic", "\u0441\u0031"),
    ("fullwidth", "\uff43\uff11"),
    ("rtl_override", "c\u202e1"),
    ("zero_width", "c\u200b1"),
    ("combining", "c\u03011"),
    ("emoji", "\U0001f525"),
    ("noncharacter", "\uffff"),
    ("max_code_point", "\U0010ffff"),
    ("path_traversal", "../x"),
    ("slash", "a/b"),
    ("sql", "' OR 1=1 --"),
    ("format", "%s%n{0}{x}"),
    ("json_like", '{"a":1}'),
)
"""Names, ids and free text a client might send by mistake or malice."""

JSON_INVALID: tuple[tuple[str, str], ...] = (
    ("truncated", "{"),
    ("garbage", "not json"),
    ("trailing", "{} x"),
    ("raw_nul", '{"a": "\x00"}'),
    ("single_quotes", "{'a': 1}"),
    ("whitespace", "   "),
    ("nan", '{"a": NaN}'),
    ("infinity", '{"a": -Infinity}'),
    ("overflow_float", '{"a": 1e999}'),
    ("huge_int", '{"a": ' + "9" * 5000 + "}"),
    ("lone_surrogate", '{"a": "\\ud800"}'),
    ("deep_array", deep_array(10_000)),
    ("deep_object", deep_object(10_000)),
    ("bom", "\ufeff{}"),
)
"""Text that is not JSON (or not JSON that round-trips: NaN, infinities, lone surrogates)."""

JSON_NOT_OBJECT: tuple[tuple[str, str], ...] = (
    ("array", "[1, 2, 3]"),
    ("string", '"s"'),
    ("number", "1"),
    ("null", "null"),
    ("true", "true"),
    ("array_of_objects", '[{"a": 1}]'),
)
"""Valid JSON of the wrong shape where an object is expected."""

JSON_ODD_OBJECTS: tuple[tuple[str, str], ...] = (
    ("escaped_nul", '{"a": "\\u0000"}'),
    ("surrogate_pair", '{"a": "\\ud83d\\ude00"}'),
    ("duplicate_keys", '{"a": 1, "a": 2}'),
    ("empty_key", '{"": 1}'),
    ("big_int", '{"a": 1' + "0" * 100 + "}"),
    ("deep_but_parseable", deep_object(200)),
    ("wide", json.dumps({f"k{i}": i for i in range(20_000)})),
    ("huge_string", json.dumps({"a": "x" * (2 * MB)})),
)
"""Valid JSON objects that are unusual: accepted or refused, never a crash."""

INTS: tuple[tuple[str, int], ...] = (
    ("zero", 0),
    ("minus_one", -1),
    ("int32_min", -(2**31)),
    ("int32_max", 2**31 - 1),
    ("one", 1),
)


def _b64(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


CURSORS: tuple[tuple[str, str], ...] = (
    ("not_base64", "!!!"),
    ("plain", "c1:5"),
    ("negative", _b64(b"c1:-5")),
    ("past_int64", _b64(b"c1:" + b"9" * 40)),
    ("too_many_digits", _b64(b"c1:" + b"9" * 5000)),
    ("invalid_utf8", _b64(b"\xff\xfe\xfd")),
    ("other_prefix", _b64(b"c2:5")),
    ("float", _b64(b"c1:1e3")),
    ("padding_only", "===="),
    ("huge", "A" * 100_000),
)

TIMESTAMPS: tuple[tuple[str, str], ...] = (
    ("words", "yesterday"),
    ("month_13", "2024-13-01T00:00:00Z"),
    ("february_30", "2024-02-30T00:00:00Z"),
    ("hour_24", "2024-01-01T24:00:00Z"),
    ("naive", "2024-01-01T00:00:00"),
    ("date_only", "2024-01-01"),
    ("offset_25h", "2024-01-01T00:00:00+25:00"),
    ("end_of_time_west", "9999-12-31T23:59:59-14:00"),
    ("start_of_time_east", "0001-01-01T00:00:00+14:00"),
    ("negative_year", "-2024-01-01T00:00:00Z"),
    ("ten_fraction_digits", "2024-01-01T00:00:00.1234567891Z"),
    ("no_seconds", "2024-01-01T00:00Z"),
    ("fullwidth_digits", "\uff12\uff10\uff12\uff14-01-01T00:00:00Z"),
    ("nul", "2024-01-01T00:00:00Z\x00"),
)

FILTERS: tuple[tuple[str, str], ...] = (
    ("unknown", "bogus"),
    ("mixed", "added,bogus"),
    ("commas", ",,,"),
    ("upper", "ADDED"),
    ("spaces", " deleted , updated "),
)


def garbage_messages(seed: int) -> list[tuple[str, bytes]]:
    """Bytes that do not parse as a protobuf message (and some that barely do)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    cases = [
        ("random_short", rng.randbytes(7)),
        ("random_long", rng.randbytes(300)),
        ("all_ff", b"\xff" * 16),
        ("truncated_varint", b"\x08\xff"),
        ("length_past_end", b"\x0a\x7f" + b"a"),
        ("invalid_utf8_string", b"\x0a\x03\xff\xfe\xfd"),
        ("unterminated_group", b"\x0b"),
        ("deep_groups", b"\x0b" * 200 + b"\x0c" * 200),
        ("field_zero", b"\x00\x01"),
        ("wrong_wire_type", b"\x0d\x00\x00\x00\x00"),
    ]
    # A map entry (field 2 in DeployRequest and DryRunRequest) whose key is not UTF-8.
    entry = b"\x0a\x02\xff\xfe\x12\x01x"
    cases.append(("invalid_utf8_map_key", b"\x12" + bytes([len(entry)]) + entry))
    return cases


def error_info(exc: grpc.Call) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo detail of a failed call, if it has one."""
    try:
        status = rpc_status.from_call(exc)
    except ValueError:  # the status details disagree with the call's code: none of ours
        return None
    return status_error_info(status)
