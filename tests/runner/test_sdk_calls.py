"""Logging, errors a function can catch, and validation of actions, in the worker."""

from __future__ import annotations

from typing import Any

import pytest

from runner._context import RunContext
from runner.host._host import RunnerHost
from tests.runner.sdk_support import Scripted, error_of, failing, http_reply, run

ACTION = """
from nango import create_action, HttpError, NangoError, ActionError
from pydantic import BaseModel

class In(BaseModel):
    title: str
    count: int = 1

class Out(BaseModel):
    id: str

def run(nango, input):
{body}

action = create_action(description='t', input=In, output=Out, exec=run)
"""


def _action(
    host: RunnerHost, body: str, handler: Scripted | None = None, value: Any = None, **context: Any
):
    source = ACTION.format(body="\n".join("    " + line for line in body.splitlines()))
    default = {"title": "t"}
    return run(
        host, {"a.py": source}, handler, input_value=value or default, context=RunContext(**context)
    )


def test_log_levels_the_seed_form_and_set_logger(sdk_host: RunnerHost) -> None:
    handler = Scripted()
    body = (
        "nango.log('dropped', level='debug')\n"
        "nango.log('plain')\n"
        "nango.log('seed form', {'level': 'warn'})\n"
        "nango.log({'a': 1}, {'b': 2}, level='error')\n"
        "nango.set_logger('error')\n"
        "nango.log('below error', level='warn')\n"
        "nango.set_logger('off')\n"
        "nango.log('nothing', level='error')\n"
        "nango.set_logger('debug')\n"
        "nango.log('debug now', level='debug')\n"
        "return {'id': '1'}"
    )
    outcome = _action(sdk_host, body, handler)
    assert outcome.ok, outcome.error
    assert [(a["level"], a["message"], a["meta"]) for a in handler.args_of("log")] == [
        ("info", "plain", []),
        ("warn", "seed form", []),
        ("error", '{"a": 1}', [{"b": 2}]),
        ("debug", "debug now", []),
    ]


@pytest.mark.parametrize(
    ("level", "expected"),
    [("debug", 4), ("info", 3), ("warn", 2), ("error", 1), ("off", 0), ("bogus", 3)],
)
def test_the_environment_default_level_filters_lines(
    sdk_host: RunnerHost, level: str, expected: int
) -> None:
    handler = Scripted()
    body = "\n".join(f"nango.log('x', level='{lv}')" for lv in ("debug", "info", "warn", "error"))
    outcome = _action(sdk_host, body + "\nreturn {'id': '1'}", handler, log_level=level)
    assert outcome.ok, outcome.error
    assert len(handler.args_of("log")) == expected


def test_a_long_message_is_cut(sdk_host: RunnerHost) -> None:
    handler = Scripted()
    outcome = _action(sdk_host, "nango.log('x' * 100000)\nreturn {'id': '1'}", handler)
    assert outcome.ok, outcome.error
    assert len(handler.args_of("log")[0]["message"]) == 64 * 1024


def test_an_unknown_level_is_an_error(sdk_host: RunnerHost) -> None:
    error = error_of(_action(sdk_host, "nango.log('x', level='loud')"))
    assert error["type"] == "script_internal_error"
    assert "level must be one of" in error["message"]


def test_a_function_can_catch_an_http_error_and_read_the_response(sdk_host: RunnerHost) -> None:
    handler = Scripted({"proxy": http_reply(404, {"message": "no such item"}, {"x-req": "r1"})})
    body = (
        "try:\n"
        "    nango.get(endpoint='/items/9')\n"
        "except HttpError as e:\n"
        "    r = e.response\n"
        "    return {'id': f\"{e.status}/{r.status}/{r.data['message']}/{r.headers['x-req']}\"}"
    )
    outcome = _action(sdk_host, body, handler)
    assert outcome.output == {"id": "404/404/no such item/r1"}


def test_an_uncaught_http_error_is_script_http_error_with_the_response(
    sdk_host: RunnerHost,
) -> None:
    handler = Scripted({"proxy": http_reply(503, {"message": "down"}, {"retry-after": "5"})})
    error = error_of(_action(sdk_host, "nango.get(endpoint='/items')", handler))
    assert error["type"] == "script_http_error"
    assert error["payload"]["status"] == 503
    assert error["payload"]["data"] == {"message": "down"}
    assert error["payload"]["headers"]["retry-after"] == "5"
    assert error["line"] == 13


def test_a_network_error_is_typed_and_catchable(sdk_host: RunnerHost) -> None:
    answer = failing("script_network_error", "refused", {"code": "ECONNREFUSED"})
    handler = Scripted({"proxy": answer})
    caught = (
        "try:\n"
        "    nango.get(endpoint='/x')\n"
        "except NangoError as e:\n"
        "    return {'id': e.type + ':' + e.payload['code']}"
    )
    assert _action(sdk_host, caught, handler).output == {"id": "script_network_error:ECONNREFUSED"}
    error = error_of(_action(sdk_host, "nango.get(endpoint='/x')", Scripted({"proxy": answer})))
    assert (error["type"], error["payload"]) == ("script_network_error", {"code": "ECONNREFUSED"})


def test_trigger_action_returns_the_output_or_raises_the_nested_error(
    sdk_host: RunnerHost,
) -> None:
    ok = Scripted({"trigger_action": {"id": "nested"}})
    body = "return nango.trigger_action('other', {'k': 1})"
    assert _action(sdk_host, body, ok).output == {"id": "nested"}
    assert ok.args_of("trigger_action") == [{"name": "other", "input": {"k": 1}}]
    nested = failing("action_script_failure", "refused", {"why": "no"})
    caught = (
        "try:\n"
        "    nango.trigger_action('other', {})\n"
        "except NangoError as e:\n"
        "    return {'id': e.type + ':' + e.payload['why']}"
    )
    handler = Scripted({"trigger_action": nested})
    assert _action(sdk_host, caught, handler).output == {"id": "action_script_failure:no"}
    error = error_of(_action(sdk_host, body, Scripted({"trigger_action": nested})))
    assert (error["type"], error["payload"]) == ("action_script_failure", {"why": "no"})


def test_action_input_and_output_are_validated(sdk_host: RunnerHost) -> None:
    bad_input = error_of(_action(sdk_host, "return {'id': '1'}", value={"count": "x"}))
    assert bad_input["type"] == "invalid_action_input"
    assert {tuple(e["loc"]) for e in bad_input["payload"]} == {("title",), ("count",)}
    bad_output = error_of(_action(sdk_host, "return {'id': 5}"))
    assert bad_output["type"] == "invalid_action_output"
    assert bad_output["payload"][0]["loc"] == ["id"]


def test_validation_off_passes_input_and_output_unchecked(sdk_host: RunnerHost) -> None:
    body = "return {'id': 5, 'title': input.title, 'count': input.count}"
    outcome = _action(sdk_host, body, value={"title": 7}, validate=False)
    assert outcome.ok, outcome.error
    assert outcome.output == {"id": 5, "title": 7, "count": 1}


def test_action_error_payload_reaches_the_caller(sdk_host: RunnerHost) -> None:
    error = error_of(_action(sdk_host, "raise ActionError({'any_key': 'any_value'})"))
    assert error["type"] == "action_script_failure"
    assert error["payload"] == {"any_key": "any_value"}


@pytest.mark.parametrize(
    ("raised", "payload"),
    [
        ("'not found'", {"message": "not found"}),
        ("404", {"message": 404}),
        ("['a', 1]", {"message": ["a", 1]}),
        ("True", {"message": True}),
        ("None", None),
        ("{'message': 'kept'}", {"message": "kept"}),
    ],
)
def test_an_action_error_payload_that_is_no_object_is_wrapped_as_the_seed_does(
    sdk_host: RunnerHost, raised: str, payload: object
) -> None:
    error = error_of(_action(sdk_host, f"raise ActionError({raised})"))
    assert error["type"] == "action_script_failure"
    assert error["payload"] == payload


def test_relative_imports_and_a_compile_error_in_an_imported_file(sdk_host: RunnerHost) -> None:
    entry = (
        "from nango import create_action\n"
        "from .mappers import to_item\n"
        "action = create_action(description='t', exec=lambda nango, input: to_item(input))\n"
    )
    mappers = "def to_item(raw):\n    return {'id': str(raw['n'])}\n"
    outcome = run(sdk_host, {"a.py": entry, "mappers.py": mappers}, input_value={"n": 4})
    assert outcome.output == {"id": "4"}
    broken = "def to_item(raw):\n    return {'id':\n"
    error = error_of(run(sdk_host, {"a.py": entry, "mappers.py": broken}, input_value={"n": 4}))
    assert error["type"] == "compile_error"
    assert (error["payload"][0]["file"], error["payload"][0]["line"]) == ("mappers.py", 2)


def test_legacy_scripts_run_with_their_configuration(sdk_host: RunnerHost) -> None:
    action = "def run_action(nango, input):\n    return {'doubled': input['n'] * 2}\n"
    outcome = run(
        sdk_host, {"double.py": action}, input_value={"n": 4}, context=RunContext(legacy={})
    )
    assert outcome.output == {"doubled": 8}
    sync = "def fetch_data(nango):\n    nango.batch_save([{'id': '1'}], 'Item')\n"
    handler = Scripted()
    legacy = {"kind": "sync", "frequency": "every hour", "models": ["Item"]}
    outcome = run(sdk_host, {"s.py": sync}, handler, kind="sync", context=RunContext(legacy=legacy))
    assert outcome.ok, outcome.error
    assert handler.args_of("batch_save") == [{"model": "Item", "records": [{"id": "1"}]}]
