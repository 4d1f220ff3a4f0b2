"""What ``corral test`` compares: a dry run's result against a ``*.test.json`` fixture.

The rules are those of the seeds' test mock (shared/fixtures/FORMAT.md, sections 1 and 7),
applied to JSON values:

* **sync**: for each model of the fixture's ``nango.batchSave``, the records passed to
  ``batch_save`` for it, concatenated in call order, equal the fixture's list; the deletions
  equal ``nango.batchDelete[model]`` only where that list is non-empty (extra deletions pass,
  as in the seeds). Models the fixture does not list are not compared.
* **action**: the output equals the fixture's ``output``; a fixture without ``output`` fails
  (the seeds' mock throws "Missing mock data for output"); ``null`` differs from an absent
  key.
* **on-event**: passes when the function ends without an error (the seeds have no such tests).
* Equality: object key order is ignored, list order is not, ``1 == 1.0``, ``true`` is not ``1``.
  Any run error fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_SHOWN = 5
"""Differences shown per failed test; the rest are counted."""
MAX_VALUE_CHARS = 160
"""Characters of one value shown in a difference."""
_MAX_COUNTED = 1000


class _Absent:
    """A key or list item that is not there (JavaScript's ``undefined``)."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Difference:
    """One place where the actual value differs from the expected one.

    Attributes:
        path: the JSON path of the place (``batchSave.Issue[3].title``).
        expected: the fixture's value there (``ABSENT`` when it has none).
        actual: the function's value there (``ABSENT`` when it has none).
        note: what differs, when the values alone do not say it (list lengths).
    """

    path: str
    expected: Any
    actual: Any
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one test.

    Attributes:
        ok: whether the test passed.
        reason: why it failed, in one line (empty when it passed).
        differences: the first differences found (at most ``MAX_SHOWN``).
        more: how many more differences there are beyond ``differences``.
    """

    ok: bool
    reason: str = ""
    differences: tuple[Difference, ...] = field(default_factory=tuple)
    more: int = 0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(expected: Any, actual: Any) -> bool:
    """Deep JSON equality: key order ignored, list order kept, ``1 == 1.0``, ``True != 1``."""
    return not differences(expected, actual, limit=1)


def differences(
    expected: Any, actual: Any, path: str = "", limit: int = _MAX_COUNTED
) -> list[Difference]:
    """The differences between two JSON values, depth first, at most ``limit`` of them."""
    found: list[Difference] = []
    _diff(expected, actual, path, found, limit)
    return found


def _diff(expected: Any, actual: Any, path: str, found: list[Difference], limit: int) -> None:
    if len(found) >= limit:
        return
    if _is_number(expected) and _is_number(actual):
        if expected != actual:
            found.append(Difference(path or "$", expected, actual))
    elif isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            _diff(expected.get(key, ABSENT), actual.get(key, ABSENT), _key(path, key), found, limit)
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            note = f"expected {len(expected)} items, got {len(actual)}"
            found.append(Difference(path or "$", ABSENT, ABSENT, note))
        for index in range(max(len(expected), len(actual))):
            left = expected[index] if index < len(expected) else ABSENT
            right = actual[index] if index < len(actual) else ABSENT
            _diff(left, right, f"{path}[{index}]", found, limit)
    elif type(expected) is not type(actual) or expected != actual:
        found.append(Difference(path or "$", expected, actual))


def _key(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _verdict(reason: str, found: list[Difference]) -> Verdict:
    if not found:
        return Verdict(ok=True)
    shown = tuple(found[:MAX_SHOWN])
    return Verdict(ok=False, reason=reason, differences=shown, more=len(found) - len(shown))


def fixture_problem(content: Any) -> str:
    """Why a fixture's content cannot be used, or ``""`` when it can."""
    if not isinstance(content, dict):
        return "the fixture is not a JSON object"
    nango = content.get("nango", {})
    if not isinstance(nango, dict):
        return "the fixture's 'nango' is not an object"
    api = content.get("api", {})
    if not isinstance(api, dict) or not all(isinstance(t, dict) for t in api.values()):
        return "the fixture's 'api' is not an object of methods to endpoints"
    for key in ("batchSave", "batchDelete"):
        lists = nango.get(key, {})
        if not isinstance(lists, dict) or not all(isinstance(v, list) for v in lists.values()):
            return f"the fixture's 'nango.{key}' is not an object of models to lists"
    return ""


def check(kind: str, content: Mapping[str, Any], result: Mapping[str, Any]) -> Verdict:
    """Whether a dry run's ``result`` satisfies the fixture ``content`` for a ``kind`` function.

    Args:
        kind: ``sync``, ``action`` or ``on_event``.
        content: the fixture (checked with ``fixture_problem`` first).
        result: what ``dryrun_result`` returned (``ok``, ``output``, ``records``, ...).
    """
    if not result.get("ok"):
        return Verdict(ok=False, reason=run_error(result.get("error")))
    if kind == "sync":
        return check_sync(content, result)
    if kind == "action":
        return check_action(content, result)
    return Verdict(ok=True)


def check_action(content: Mapping[str, Any], result: Mapping[str, Any]) -> Verdict:
    """An action passes when its output equals the fixture's ``output``."""
    if "output" not in content:
        return Verdict(ok=False, reason="the fixture has no 'output' to compare the action's with")
    found = differences(content["output"], result.get("output"), "output")
    return _verdict("the output differs from the fixture's", found)


def check_sync(content: Mapping[str, Any], result: Mapping[str, Any]) -> Verdict:
    """A sync passes when its saved (and, where listed, deleted) records equal the fixture's."""
    nango = content.get("nango") or {}
    if "batchSave" not in nango:
        return Verdict(
            ok=False,
            reason="the fixture has no 'nango.batchSave' to compare the sync's records with",
        )
    saved, deleted = result.get("records") or {}, result.get("deleted") or {}
    found: list[Difference] = []
    for model, expected in nango["batchSave"].items():
        found += differences(expected, saved.get(model, []), f"batchSave.{model}")
    for model, expected in (nango.get("batchDelete") or {}).items():
        if expected:
            found += differences(expected, deleted.get(model, []), f"batchDelete.{model}")
    return _verdict("the records differ from the fixture's", found)


def run_error(error: Any) -> str:
    """A run's error in one line: type, message and place."""
    if not isinstance(error, Mapping):
        return "the run failed"
    place = f" ({error['file']}:{error.get('line', 0)})" if error.get("file") else ""
    return f"{error.get('type', 'error')}: {error.get('message', '')}{place}"


def show(value: Any) -> str:
    """A value for a diff: compact JSON, cut to ``MAX_VALUE_CHARS``."""
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def render(verdict: Verdict) -> list[str]:
    """The lines that explain a failed verdict (none for a pass)."""
    if verdict.ok:
        return []
    lines = [verdict.reason]
    for diff in verdict.differences:
        if diff.note:
            lines.append(f"  at {diff.path}: {diff.note}")
            continue
        lines += [
            f"  at {diff.path}:",
            f"    expected: {show(diff.expected)}",
            f"    actual:   {show(diff.actual)}",
        ]
    if verdict.more:
        lines.append(f"  ... and {verdict.more} more difference(s)")
    return lines
