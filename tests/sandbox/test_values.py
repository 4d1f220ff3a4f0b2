"""The value checks (``sandbox/language/_allowlist.py``): ordinary code runs, refusals typed."""

from __future__ import annotations

import json
import types

import pytest

from sandbox import reset_run_state, violations
from sandbox.language._allowlist import IteratorFacade, check_value
from sandbox.language._errors import SandboxViolation
from tests.sandbox.test_escapes import run_function

ORDINARY = """
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Optional

from nango import create_action
from pydantic import BaseModel, Field, field_validator


class Row(BaseModel):
    name: str
    tags: list[str] = Field(default_factory=list)

    @field_validator("name", mode="wrap")
    @classmethod
    def strip(cls, value, handler, info):
        return handler(value).strip()


@dataclass
class Point:
    x: int = 0
    y: int = field(default=0)


@dataclass(slots=True, frozen=True)
class Slot:
    x: int = 3


def numbers():
    got = yield 1
    yield got * 2


def run(nango, input):
    out = {}
    for key, value in {"a": 1, "b": 2}.items():
        out[key] = value
    gen = numbers()
    next(gen)
    out["sent"] = gen.send(21)
    out["sorted"] = sorted([3, 1, 2], key=lambda value: -value)
    out["upper"] = list(map(str.upper, ["a", "b"]))
    out["sub"] = re.sub("a", lambda match: match.group(0).upper(), "banana")
    out["hook"] = json.loads('{"a": {"b": 1}}', object_hook=lambda mapping: dict(mapping))
    out["default"] = json.dumps({"d": Decimal("1.5")}, default=str)
    with localcontext() as context:
        context.prec = 3
        out["third"] = str(Decimal(1) / Decimal(3))
    try:
        {}["missing"]
    except KeyError as error:
        out["error"] = error.args[0]
    out["row"] = Row(name="  x ", tags=["t"]).model_dump()
    out["fields"] = sorted(Row.model_fields)
    out["point"] = Point(1, 2).x + Point().y
    out["slots"] = [slot.x for slot in [Slot(), Slot(4)]]
    out["alias"] = str(Optional[int].copy_with((str,)))
    out["log"] = nango.log is not None
    out["iterencode"] = "".join(json.JSONEncoder().iterencode({"k": 1}))
    return out


action = create_action(description="ordinary", version="1.0.0", exec=run)
"""


def test_ordinary_code_runs() -> None:
    reset_run_state()
    result = run_function({"ordinary.py": ORDINARY}, "ordinary.py")
    assert violations() == []
    assert result == {
        "a": 1,
        "b": 2,
        "sent": 42,
        "sorted": [3, 2, 1],
        "upper": ["A", "B"],
        "sub": "bAnAnA",
        "hook": {"a": {"b": 1}},
        "default": '{"d": "1.5"}',
        "third": "0.333",
        "error": "missing",
        "row": {"name": "x", "tags": ["t"]},
        "fields": ["name", "tags"],
        "point": 1,
        "slots": [3, 4],
        "alias": "<class 'str'>",
        "log": True,
        "iterencode": '{"k": 1}',
    }


@pytest.mark.parametrize(
    "value",
    [json, types.SimpleNamespace.__dict__, json.JSONEncoder.default, type.__subclasses__],
    ids=["module", "mappingproxy", "library_function", "builtin_method_of_type"],
)
def test_forbidden_values_are_refused_with_the_type_named(value: object) -> None:
    reset_run_state()
    with pytest.raises(SandboxViolation) as caught:
        check_value(value)
    reset_run_state()
    assert caught.value.rule == "restricted_value"
    assert type(value).__name__ in str(caught.value) or "class" in str(caught.value)


def test_library_generators_become_iteration_only_facades() -> None:
    chunks = check_value(json.JSONEncoder().iterencode({"a": 1}))
    assert isinstance(chunks, IteratorFacade)
    assert "".join(chunks) == '{"a": 1}'
    assert not hasattr(chunks, "send")
