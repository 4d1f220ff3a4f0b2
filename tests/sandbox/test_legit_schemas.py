"""Ordinary pydantic in function code passes the raw-schema guards, through the real sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox import reset_run_state, violations
from tests.sandbox.test_escapes import run_function

SOURCE = Path(__file__).with_name("legit_schemas.py")


def test_ordinary_pydantic_use_is_not_refused() -> None:
    reset_run_state()
    result: Any = run_function(
        {"legit_schemas.py": SOURCE.read_text(encoding="utf-8")}, "legit_schemas.py"
    )
    assert violations() == []
    issue = result["issue"]
    assert issue["title"] == "Fix The Thing"
    assert issue["owner"] == {"login": "ana", "age": 0}
    assert issue["points"] == [{"x": 1, "y": 2, "tags": ["a"]}]
    assert issue["by_name"]["ana"]["login"] == "ana"
    assert issue["scores"] == {"a": 1.5, "b": None}
    assert issue["span"] == [1, 2]
    assert issue["color"] == "red"
    assert issue["due"] == "2024-02-03"
    assert issue["price"] == "1.50"
    assert issue["label_count"] == 1
    assert issue["slug"] == "fix-the-thing"
    assert result["summary"] == {"total": 1, "ids": [7]}
    assert result["refused"] is True
    assert result["copy"] is True
    assert result["owned"] == {
        "pet": {"pet_type": "dog", "barks": 2},
        "pets": [{"pet_type": "cat", "meows": 0}],
    }
    assert result["awkward"]["type"] == "dataclass"
    assert result["awkward"]["shape"] == {"type": "model", "cls": 1, "from_attributes": True}
