"""The escape corpus: every file in ``escapes/`` is an attack written as customer code.

Each file starts with a header that declares what must happen::

    # expect: compile_error | sandbox_violation | runtime_error
    # rule: <rule>          (optional: the violation rule that must be reported)
    # code: <error code>    (optional, runtime_error only: the RunFailure code)

The file is compiled as the entry of a one-file integration, loaded with a fake SDK, and the
function it binds with ``create_action`` is called with a fake ``nango`` object. Whatever
happens, the attack never succeeds silently and never hands back a protected object.
"""

from __future__ import annotations

import builtins
import types
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from corral.errors import CompileError, RunFailure
from sandbox import compile_program, reset_run_state, violations

ESCAPES = Path(__file__).parent / "escapes"
CASES = sorted(ESCAPES.glob("*.py"))
OUTCOMES = {"compile_error", "sandbox_violation", "runtime_error"}


class ActionError(Exception):
    """The SDK's ActionError, as the worker would provide it."""


class FakeNango:
    """A stand-in for the SDK object: library code with public methods and a private secret."""

    def __init__(self) -> None:
        self._secret = "s3cret"
        self.connection_id = "conn-1"

    def log(self, *args: object, **kwargs: object) -> None:
        """Pretend to log."""

    def get(self, **kwargs: object) -> dict[str, object]:
        """Pretend to proxy a GET."""
        return {"data": [1, 2], "status": 200}


def fake_sdk() -> dict[str, object]:
    """The content of the virtual ``nango`` module in these tests."""
    return {
        "create_action": lambda **kwargs: {"kind": "action", **kwargs},
        "create_sync": lambda **kwargs: {"kind": "sync", **kwargs},
        "create_on_event": lambda **kwargs: {"kind": "on_event", **kwargs},
        "ActionError": ActionError,
    }


def run_function(files: dict[str, str], entry: str, input: object = None) -> object:
    """Compile, load and call the function an entry binds (as the worker would)."""
    namespace = compile_program(files, entry).load(fake_sdk())
    for value in namespace.values():
        if isinstance(value, dict) and callable(value.get("exec")):
            if value["kind"] == "action":
                return value["exec"](FakeNango(), input if input is not None else {"id": 1})
            return value["exec"](FakeNango())
    return None


@dataclass(frozen=True)
class Header:
    """What an escape file declares about itself."""

    expect: str
    rule: str | None
    code: str | None


def read_header(path: Path) -> Header:
    """Parse the ``# key: value`` lines at the top of an escape file."""
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(":")
        fields[key.strip()] = value.strip()
    return Header(fields.get("expect", ""), fields.get("rule"), fields.get("code"))


_UNSAFE = {id(getattr(builtins, name)) for name in ("eval", "exec", "compile", "open", "getattr")}
_UNSAFE |= {id(builtins.__import__), id(type)}
_PROTECTED_TYPES = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)


def assert_harmless(value: Any, depth: int = 0) -> None:
    """Fail if a returned value is, or contains, something the sandbox protects."""
    assert not isinstance(value, _PROTECTED_TYPES), value
    assert id(value) not in _UNSAFE, value
    if isinstance(value, dict):
        assert "__builtins__" not in value
    if depth < 4 and isinstance(value, (dict, list, tuple, set, frozenset)):
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            assert_harmless(item, depth + 1)


def _run(path: Path) -> tuple[object, BaseException | None]:
    try:
        return run_function({path.name: path.read_text(encoding="utf-8")}, path.name), None
    except (Exception, RecursionError) as error:
        return None, error


def test_corpus_is_large_and_well_formed() -> None:
    headers = [read_header(path) for path in CASES]
    assert len(CASES) >= 100
    assert {header.expect for header in headers} == OUTCOMES
    categories = Counter(path.stem.split("_")[0] for path in CASES)
    for category in ("imports", "builtins", "dunder", "frames", "format", "modules", "pydantic"):
        assert categories[category] >= 5, category
    for category in ("unicode", "shadow", "resource", "writes"):
        assert categories[category] >= 5, category


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_escape_is_stopped(path: Path) -> None:
    header = read_header(path)
    assert header.expect in OUTCOMES, f"{path.name}: bad header"
    reset_run_state()
    if header.expect == "compile_error":
        with pytest.raises(CompileError) as caught:
            compile_program({path.name: path.read_text(encoding="utf-8")}, path.name)
        rules = {error["rule"] for error in caught.value.details["errors"]}
        assert header.rule is None or header.rule in rules, rules
        return
    result, error = _run(path)
    recorded = violations()
    reset_run_state()
    assert_harmless(result)
    if header.expect == "sandbox_violation":
        assert recorded, f"no violation recorded (error: {error!r}, result: {result!r})"
        rules = {record["rule"] for record in recorded}
        assert header.rule is None or header.rule in rules, rules
        assert all(record["file"] == path.name and record["line"] > 0 for record in recorded)
        if isinstance(error, RunFailure) and error.code == "sandbox_violation":
            assert error.file == path.name
    else:
        assert error is not None, f"the attack succeeded: {result!r}"
        if header.code:
            assert isinstance(error, RunFailure), repr(error)
            assert error.code == header.code
