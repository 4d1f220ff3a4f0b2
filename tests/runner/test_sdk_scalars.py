"""The SDK reads the scalars function code gives it once, by the built-in type's own method, and
refuses other types typed before anything is sent (``runner/sdk/_scalars.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from runner.host._host import RunnerHost
from runner.sdk import _scalars
from tests.runner.sdk_support import Scripted, error_of, http_reply, run


class Label(str):
    """A str subclass whose methods would answer otherwise, were they called."""

    def __str__(self) -> str:
        raise AssertionError("__str__ ran")

    def upper(self) -> str:  # type: ignore[override]
        raise AssertionError("upper ran")

    def __eq__(self, other: object) -> bool:
        raise AssertionError("__eq__ ran")

    def __hash__(self) -> int:
        raise AssertionError("__hash__ ran")


class Count(int):
    """An int subclass whose conversions would answer otherwise, were they called."""

    def __str__(self) -> str:
        raise AssertionError("__str__ ran")

    def __repr__(self) -> str:
        raise AssertionError("__repr__ ran")

    def __index__(self) -> int:
        raise AssertionError("__index__ ran")

    def __int__(self) -> int:
        raise AssertionError("__int__ ran")


def test_text_takes_a_subclass_by_its_characters_and_refuses_the_rest() -> None:
    value = _scalars.text(Label("GET"), "method")
    assert type(value) is str
    assert str.__eq__(value, "GET")
    for wrong in (1, None, b"x", ["x"], object()):
        with pytest.raises(TypeError, match="method must be a string"):
            _scalars.text(wrong, "method")
    assert _scalars.optional_text(None, "m", "GET") == "GET"
    assert _scalars.optional_text("", "m", "GET") == "GET"


def test_numbers_are_read_without_their_own_methods_and_bools_are_not_numbers() -> None:
    assert type(_scalars.whole(Count(7), "retries")) is int
    assert _scalars.whole(Count(7), "retries") == 7
    assert _scalars.key(Count(12), "an id") == "12"
    assert _scalars.key(Label("a"), "an id") == "a"
    assert _scalars.number(2.5, "limit") == 2.5
    for wrong in (True, "3", 3.0, None):
        with pytest.raises(TypeError, match="retries must be an integer"):
            _scalars.whole(wrong, "retries")
    for wrong in (True, "", None, 1.5):
        with pytest.raises(TypeError, match="an id must be a non-empty string or an integer"):
            _scalars.key(wrong, "an id")
    with pytest.raises(TypeError, match="limit must be a number"):
        _scalars.number(False, "limit")


def test_flags_and_lists_of_strings() -> None:
    assert _scalars.flag(None, "f") is False
    assert _scalars.flag(Count(2), "f") is True
    assert _scalars.flag(0, "f") is False
    with pytest.raises(TypeError, match="f must be true or false"):
        _scalars.flag("yes", "f")
    assert _scalars.strings((Label("a"), "b"), "include") == ["a", "b"]
    assert _scalars.strings(None, "include") == []
    for wrong in ("credentials", {"a": 1}, 3, ["a", 1]):
        with pytest.raises(TypeError, match="include must be"):
            _scalars.strings(wrong, "include")


ACTION = """
from nango import create_action
from pydantic import BaseModel, computed_field

class Name(str):
    pass

class Probe(BaseModel):
    @computed_field
    @property
    def ran(self) -> str:
        raise ValueError('the computed field ran')

def run(nango, input):
{body}

action = create_action(description='t', exec=run)
"""


def _run(host: RunnerHost, body: str, handler: Scripted) -> Any:
    source = ACTION.format(body="\n".join("    " + line for line in body.splitlines()))
    return run(host, {"a.py": source}, handler)


def test_a_str_subclass_that_redefines_its_methods_is_refused(sdk_host: RunnerHost) -> None:
    """What it would have answered the SDK (the unit tests above show the SDK would not ask)
    never comes into question: the class statement itself is refused."""
    source = ACTION.replace(
        "class Name(str):\n    pass",
        "class Name(str):\n    def upper(self):\n        return 'DELETE'",
    )
    outcome = run(
        sdk_host,
        {"a.py": source.format(body="    return nango.proxy(endpoint=Name('/a'))")},
        Scripted(),
    )
    error = error_of(outcome)
    assert error["type"] == "sandbox_violation"
    assert "may not redefine 'upper' of 'str'" in error["message"]


def test_a_str_subclass_is_sent_as_its_characters(sdk_host: RunnerHost) -> None:
    handler = Scripted({"proxy": http_reply(200, {}), "trigger_action": lambda args: {"ok": 1}})
    body = (
        "nango.proxy(endpoint=Name('/a'), method=Name('post'), headers={Name('x'): 1, 'y': 2.5},\n"
        "            retries=2, retry_on=[429], base_url_override=Name('http://h'))\n"
        "nango.trigger_action(Name('other'))\n"
        "nango.log(Name('line'), level=Name('warn'))\n"
        "return {'ok': True}"
    )
    outcome = _run(sdk_host, body, handler)
    assert outcome.ok, outcome.error
    (proxy,) = handler.args_of("proxy")
    assert proxy["method"] == "POST"  # upper case, and sent as a plain str
    assert proxy["endpoint"] == "/a"
    assert proxy["headers"] == {"x": "1", "y": "2.5"}
    assert proxy["base_url_override"] == "http://h"
    assert (proxy["retries"], proxy["retry_on"]) == (2, [429])
    assert handler.args_of("trigger_action")[0]["name"] == "other"
    assert handler.args_of("log")[0]["level"] == "warn"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("nango.trigger_action(Probe())", "an action's name must be a string"),
        ("nango.get_records_by_id([Probe()], 'Thing')", "an id must be a non-empty string"),
        ("nango.get_records_by_id([True], 'Thing')", "an id must be a non-empty string"),
        ("nango.get_integration(include=[Probe()])", "include must be a string"),
        ("nango.get_integration(include='credentials')", "include must be a list of strings"),
        ("nango.get(endpoint='/a', headers={'x': Probe()})", "a header's value must be"),
        ("nango.get(endpoint='/a', headers={'x': True})", "a header's value must be"),
        ("nango.get(endpoint='/a', headers=['x'])", "headers must be a dict"),
        ("nango.proxy(endpoint='/a', method=Probe())", "method must be a string"),
        ("nango.get(endpoint='/a', retries='3')", "retries must be an integer"),
        ("nango.get(endpoint='/a', retry_on=['429'])", "a retry_on status must be an integer"),
        ("nango.get(endpoint='/a', decompress='yes')", "decompress must be true or false"),
        ("nango.get(endpoint='/a', base_url_override=Probe())", "base_url_override must be"),
        ("nango.get(endpoint='/a', response_type=Probe())", "response_type must be a string"),
        ("nango.log('x', {'level': Probe()})", "level must be a string"),
        ("nango.set_logger(Probe())", "level must be a string"),
        ("nango.get_connection(Probe())", "a get_connection override must be a string"),
        ("nango.get_connection(force_refresh='no')", "force_refresh must be true or false"),
    ],
)
def test_a_value_of_another_type_is_refused_typed_and_nothing_is_sent(
    sdk_host: RunnerHost, call: str, message: str
) -> None:
    handler = Scripted()
    error = error_of(_run(sdk_host, call, handler))
    assert error["type"] == "script_internal_error"
    assert f"TypeError: {message}" in error["message"]
    assert handler.calls == []


def test_paginate_settings_are_read_once_as_exact_values(sdk_host: RunnerHost) -> None:
    pages = iter([{"items": [1], "next": "c2"}, {"items": [], "next": None}])
    handler = Scripted({"proxy": lambda args: http_reply(200, next(pages))})
    body = (
        "out = []\n"
        "for page in nango.paginate(endpoint='/p', paginate={Name('type'): Name('cursor'),\n"
        "        'cursor_name_in_request': Name('after'), 'cursor_path_in_response': 'next',\n"
        "        'response_path': 'items', 'limit': 5, 'limit_name_in_request': 'n'}):\n"
        "    out.extend(page)\n"
        "return {'pages': out}"
    )
    outcome = _run(sdk_host, body, handler)
    assert outcome.ok, outcome.error
    assert outcome.output == {"pages": [1]}
    second = handler.args_of("proxy")[1]
    assert second["params"] == {"n": "5", "after": "c2"}
    refused = _run(
        sdk_host,
        "for page in nango.paginate(endpoint='/p', paginate={'type': 'link', 'in_body': 'yes',\n"
        "        'link_path_in_response_body': 'next'}):\n"
        "    pass",
        Scripted(),
    )
    assert "paginate.in_body must be true or false" in error_of(refused)["message"]
