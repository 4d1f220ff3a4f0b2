"""The sandbox package's public surface: exactly what the worker and the CLI are written against."""

from __future__ import annotations

import inspect

import sandbox
from tests.support.ordering import all_order

EXPECTED = [
    "DEFAULT_POLICY",
    "Policy",
    "Program",
    "Violation",
    "check_sources",
    "compile_program",
    "locate_error",
    "reset_run_state",
    "violations",
]


def test_all_is_sorted_and_complete() -> None:
    names = list(sandbox.__all__)
    assert names == all_order(names)
    assert set(EXPECTED) <= set(names)
    for name in names:
        assert hasattr(sandbox, name), name


def test_language_layer_names_are_exported() -> None:
    language = [name for name in sandbox.__all__ if name in EXPECTED]
    assert language == EXPECTED


def test_signatures_match_the_contract() -> None:
    compile_params = list(inspect.signature(sandbox.compile_program).parameters)
    assert compile_params == ["files", "entry", "policy"]
    assert list(inspect.signature(sandbox.check_sources).parameters) == ["files", "policy"]
    assert list(inspect.signature(sandbox.Program.load).parameters) == ["self", "sdk"]
    assert list(inspect.signature(sandbox.locate_error).parameters) == ["exc", "program"]
    assert sandbox.Violation("f.py", 1, 2, "rule", "m").to_dict() == {
        "file": "f.py",
        "line": 1,
        "column": 2,
        "rule": "rule",
        "message": "m",
    }
