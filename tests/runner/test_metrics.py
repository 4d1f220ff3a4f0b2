"""A runner's series: violations by rule, bounded however the worker names the rule."""

from __future__ import annotations

from typing import Any

import pytest

from corral._metrics import BoundedLabel
from runner._metrics import violated_rule


@pytest.mark.parametrize(
    ("error", "rule"),
    [
        (None, None),
        ({"type": "action_script_failure", "payload": {"rule": "x"}}, None),
        (
            {"type": "sandbox_violation", "payload": {"rule": "private_attribute"}},
            "private_attribute",
        ),
        (  # a violation the function caught: the worker reports the record at the end
            {"type": "sandbox_violation", "payload": {"violations": [{"rule": "import"}]}},
            "import",
        ),
        ({"type": "sandbox_violation", "payload": None}, "unknown"),
        ({"type": "script_internal_error", "payload": {"signal": "SIGSYS"}}, "seccomp"),
        ({"type": "script_internal_error", "payload": {"signal": "SIGSEGV"}}, None),
    ],
)
def test_the_rule_a_run_broke(error: dict[str, Any] | None, rule: str | None) -> None:
    assert violated_rule(error) == rule


def test_rule_labels_are_bounded() -> None:
    bound = BoundedLabel(limit=2)
    assert bound("import") == "import"
    assert bound("write") == "write"
    assert bound("metaclass") == "other"  # a third distinct value
    assert bound("import") == "import"  # a known one still counts as itself
    assert bound("Run-1234 '; drop") == "other"
    assert bound("x" * 100) == "other"
