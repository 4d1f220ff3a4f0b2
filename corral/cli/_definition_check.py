"""``corral compile`` checks definitions too: what ``create_sync``, ``create_action`` and
``create_on_event`` would refuse at deploy, found in the source without running it (a bad
frequency, an unknown or missing field, a literal of the wrong type)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from corral.errors import RunFailure
from runner import check_source_options

CREATORS = ("create_sync", "create_action", "create_on_event")
RULE = "invalid_definition"


def definition_violations(files: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every definition call of every file that its creator would refuse, as compile prints a
    violation (file, line, column, rule, message). Files that do not parse are skipped: the
    policy check reports them."""
    found: list[dict[str, Any]] = []
    for name, source in sorted(files.items()):
        try:
            tree = ast.parse(source, filename=name)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            creator = _creator(node)
            if creator is None or not isinstance(node, ast.Call):
                continue
            problem = _problem(creator, node)
            if problem is not None:
                found.append(
                    {
                        "file": name,
                        "line": node.lineno,
                        "column": node.col_offset + 1,
                        "rule": RULE,
                        "message": problem,
                    }
                )
    return found


def _creator(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    called = node.func
    name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", None)
    return name if name in CREATORS else None


def _problem(creator: str, call: ast.Call) -> str | None:
    if call.args or any(k.arg is None for k in call.keywords):
        return None  # positional or **options: only running it can tell
    names = [str(k.arg) for k in call.keywords]
    literals: dict[str, Any] = {}
    for keyword in call.keywords:
        try:
            literals[str(keyword.arg)] = ast.literal_eval(keyword.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue  # not a literal: checked when it runs
    try:
        check_source_options(creator, names, literals)
    except RunFailure as err:
        return err.message
    return None
