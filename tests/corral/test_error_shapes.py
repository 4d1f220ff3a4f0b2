"""One run error from the worker to the client: ``ErrorValue`` and its forms in one module.

Every run error type goes through each form and back unchanged (the proto ``RunError``, the
JSON of run rows and worker frames, a gRPC status with its ErrorInfo, read by a client), the
external JSON keeps its documented keys, and no other module builds an error dict or a
``RunError`` by hand.
"""

from __future__ import annotations

import ast
import itertools
import json
import pathlib
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from corral import _grpc_errors
from corral._error_shapes import (
    ErrorValue,
    JsonForm,
    budget_failure_json,
    corral_error_json,
    from_json,
    from_proto,
    to_json,
    to_proto,
)
from corral.errors import RUN_ERROR_TYPES, NotFound, ResourceExhausted, RunFailure
from corral.v1 import common_pb2

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("corral", "sandbox", "runner", "orchestrator")
ONE_PLACE = "corral/_error_shapes.py"

ODD_TEXT = 'ünïcødé \U0001f525 — 日本語 \u200b\n\t"quoted" \\ back'
NESTED = {"a": {"b": [1, 2.5, None, True, {"c": ["ü", {}]}]}, "ß": [], "": ""}
SHAPES: list[dict[str, Any]] = [
    {"message": "", "payload": None},  # nothing but the type
    {"message": ODD_TEXT, "payload": NESTED, "file": "sub/dïr/ünï.py", "line": 2**31 - 1},
    {"message": "m", "payload": {}, "file": "f.py", "line": 1},
    {"message": "m", "payload": [], "file": "f.py", "line": 0},
    {"message": ODD_TEXT, "payload": ODD_TEXT},  # a payload that is text
    {"message": "m", "payload": 0},
    {"message": "m", "payload": ""},
]
PRODUCT = list(itertools.product(sorted(RUN_ERROR_TYPES), enumerate(SHAPES)))
CASES = [ErrorValue(code, **shape) for code, (_, shape) in PRODUCT]
"""Every run error type in every shape."""
IDS = [f"{code}-{index}" for code, (index, _) in PRODUCT]


@pytest.mark.parametrize("value", CASES, ids=IDS)
def test_a_value_goes_through_the_proto_and_back(value: ErrorValue) -> None:
    wire = to_proto(value).SerializeToString()
    assert from_proto(common_pb2.RunError.FromString(wire)) == value


@pytest.mark.parametrize("value", CASES, ids=IDS)
def test_a_value_goes_through_json_and_back_in_the_full_and_compact_forms(
    value: ErrorValue,
) -> None:
    forms: tuple[JsonForm, ...] = ("full", "compact")
    for form in forms:
        text = json.dumps(to_json(value, form), ensure_ascii=False)
        assert from_json(json.loads(text)) == value, form


@pytest.fixture(scope="module")
def failing_channel() -> Iterator[grpc.Channel]:
    """A server whose one method ends with the status of ``CASES[int(request)]``."""

    def fail(request: bytes, context: grpc.ServicerContext) -> bytes:
        value = CASES[int(request)]
        failure = RunFailure.from_value(value, details={"run_id": "run-1"})
        _grpc_errors.abort(context, failure)
        return b""  # pragma: no cover - abort raises

    handler = grpc.unary_unary_rpc_method_handler(fail)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("t.E", {"F": handler})])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        channel.close()
        server.stop(None).wait()


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_a_value_goes_through_a_grpc_status_to_the_clients_run_failure(
    failing_channel: grpc.Channel, index: int
) -> None:
    call = failing_channel.unary_unary("/t.E/F", None, None)
    with pytest.raises(grpc.RpcError) as caught:
        call(str(index).encode(), timeout=10)
    error = _grpc_errors.from_rpc_error(caught.value)
    assert isinstance(error, RunFailure)
    assert error.value == CASES[index]
    assert error.details == {"run_id": "run-1"}
    status = _grpc_errors.status_code_of(RunFailure.from_value(CASES[index]))
    assert caught.value.code().value[0] == status


def test_the_json_forms_keep_the_keys_clients_see() -> None:
    located = ErrorValue("action_script_failure", "no", {"why": 1}, "f.py", 3)
    unplaced = ErrorValue("execution_timeout", "late", {"limit_seconds": 1.0})
    assert to_json(located) == {
        "type": "action_script_failure",
        "message": "no",
        "payload": {"why": 1},
        "file": "f.py",
        "line": 3,
    }
    assert to_json(unplaced) == {
        "type": "execution_timeout",
        "message": "late",
        "payload": {"limit_seconds": 1.0},
        "file": "",
        "line": 0,
    }
    assert to_json(unplaced, "compact") == {
        "type": "execution_timeout",
        "message": "late",
        "payload": {"limit_seconds": 1.0},
    }
    assert to_json(located, "compact") == to_json(located)
    assert to_json(located, "brief") == {"type": "action_script_failure", "message": "no"}


def test_a_run_failure_is_its_value_and_its_dict_the_compact_form() -> None:
    failure = RunFailure("script_http_error", "503", payload={"status": 503}, file="f.py", line=9)
    assert failure.value == ErrorValue("script_http_error", "503", {"status": 503}, "f.py", 9)
    assert failure.to_dict() == to_json(failure.value, "compact")
    assert RunFailure.from_value(failure.value).value == failure.value
    assert RunFailure("runner_error", "x").to_dict() == {
        "type": "runner_error",
        "message": "x",
        "payload": None,
    }


def test_another_error_as_a_run_error_has_its_details_as_payload() -> None:
    err = NotFound("no such connection", code="unknown_connection", details={"id": "c1"})
    assert err.value == ErrorValue("unknown_connection", "no such connection", {"id": "c1"})
    assert NotFound("gone").value.payload is None
    assert err.to_dict() == corral_error_json(err)
    assert err.to_dict() == {
        "type": "unknown_connection",
        "message": "no such connection",
        "details": {"id": "c1"},
    }


def test_a_budget_failure_keeps_its_details_and_no_payload() -> None:
    err = ResourceExhausted("too many records", resource="records_per_run", limit=4)
    assert budget_failure_json(err) == {
        "type": "resource_exhausted",
        "message": "too many records",
        "details": {"resource": "records_per_run", "limit": 4},
        "payload": None,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, ErrorValue("runner_error")),
        ("not an object", ErrorValue("runner_error")),
        ({"type": 7, "message": 8, "file": 9, "line": "10"}, ErrorValue("runner_error")),
        ({"type": "x", "line": -1}, ErrorValue("x")),
        ({"type": "x", "line": 2**31}, ErrorValue("x")),
        ({"type": "x", "line": True}, ErrorValue("x")),
        ({"type": "x\udfff", "message": "\ud800"}, ErrorValue("x?", "?")),
        ({"type": "x", "file": "f\udcff.py", "line": 4}, ErrorValue("x", file="f?.py", line=4)),
    ],
)
def test_json_from_an_untrusted_worker_is_read_as_a_value_that_fits_a_run_error(
    data: Any, expected: ErrorValue
) -> None:
    value = from_json(data)
    assert value == expected
    assert from_proto(to_proto(value)) == value


def test_the_proto_never_fails_on_odd_fields_and_reads_unparsed_payload_as_text() -> None:
    message = to_proto(ErrorValue("", "\ud800", object(), "\udfff", 2**40))
    assert (message.type, message.message, message.file, message.line) == (
        "runner_error",
        "?",
        "?",
        0,
    )
    assert json.loads(message.payload_json).startswith("<object object")
    assert (
        from_proto(common_pb2.RunError(type="x", payload_json="{not json")).payload == "{not json"
    )
    assert from_proto(common_pb2.RunError()) == ErrorValue("runner_error")


def _named(call: ast.Call, name: str) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == name) or (
        isinstance(func, ast.Attribute) and func.attr == name
    )


def _builds_error(node: ast.AST) -> bool:
    """A ``RunError(...)``, ``dict(type=..., message=...)``, or a dict display with a
    ``"type"`` and a message, payload or details (or spreading a ``.to_dict()`` into one)."""
    if isinstance(node, ast.Call):
        keywords = {k.arg for k in node.keywords}
        return _named(node, "RunError") or (
            _named(node, "dict") and {"type", "message"} <= keywords
        )
    if not isinstance(node, ast.Dict):
        return False
    keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
    spreads = [v for k, v in zip(node.keys, node.values, strict=True) if k is None]
    spreads_error = any(isinstance(v, ast.Call) and _named(v, "to_dict") for v in spreads)
    fields = {"message", "payload", "details"}
    return ("type" in keys and bool(keys & fields)) or (spreads_error and bool(keys & fields))


def _error_builders() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if "v1" in path.relative_to(ROOT).parts or name == ONE_PLACE:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            lines = [getattr(n, "lineno", 0) for n in ast.walk(tree) if _builds_error(n)]
            if lines:
                found[name] = lines
    return found


ALLOWED: dict[str, str] = {}
"""Modules that still build an error by hand, each with why."""


def test_only_the_error_shapes_module_builds_an_error_dict_or_a_run_error() -> None:
    builders = _error_builders()
    assert set(builders) <= set(ALLOWED), builders


@pytest.mark.parametrize(
    "source",
    [
        "common_pb2.RunError(type='x')",
        "RunError()",
        "{'type': code, 'message': text}",
        "{'type': code, 'payload': None}",
        "{**err.to_dict(), 'payload': None}",
        "dict(type='x', message='y')",
    ],
)
def test_the_check_finds_an_error_built_by_hand(source: str) -> None:
    assert any(_builds_error(node) for node in ast.walk(ast.parse(source)))


@pytest.mark.parametrize(
    "source",
    ["{'type': 'API_KEY', 'api_key': k}", "{'loc': [], 'msg': m, 'type': t}", "to_json(v)"],
)
def test_the_check_leaves_other_dicts_alone(source: str) -> None:
    assert not any(_builds_error(node) for node in ast.walk(ast.parse(source)))
