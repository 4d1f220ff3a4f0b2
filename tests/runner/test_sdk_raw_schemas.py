"""Raw pydantic-core schemas in function code, through the real worker: deploy and run."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner._context import RunContext
from runner.host._host import RunnerHost
from tests.runner.sdk_support import Scripted, error_of, run

ESCAPES = Path(__file__).parent / "sdk_escapes"
SANDBOX_ESCAPES = Path(__file__).parents[1] / "sandbox" / "escapes"

SYNC = """\
from nango import create_sync
from pydantic import BaseModel

schema = {{"type": "any"}}


class Item(BaseModel):
    id: str
    value: {annotation} = None


def fetch(nango):
    nango.batch_save([Item(id="1")], "Item")


sync = create_sync(description="d", frequency="every hour", models={{"Item": Item}}, exec=fetch)
"""


def _describe(host: RunnerHost, files: dict[str, str]) -> dict[str, object]:
    return error_of(run(host, files, mode="describe", context=RunContext()))


@pytest.mark.parametrize("annotation", ["schema", "list[schema]", "dict[str, schema] | None"])
def test_a_deploy_describe_run_refuses_a_raw_schema(sdk_host: RunnerHost, annotation: str) -> None:
    error = _describe(sdk_host, {"items.py": SYNC.format(annotation=annotation)})
    assert error["type"] == "sandbox_violation", error
    assert error["payload"] == {"rule": "pydantic_raw_schema"}
    assert (error["file"], error["line"]) == ("items.py", 9)


def test_a_deploy_describe_run_reports_a_literal_as_a_compile_error(sdk_host: RunnerHost) -> None:
    error = _describe(sdk_host, {"items.py": SYNC.format(annotation='{"type": "any"}')})
    assert error["type"] == "compile_error", error
    assert error["payload"] == [
        {
            "file": "items.py",
            "line": 9,
            "column": 12,
            "rule": "pydantic_raw_schema",
            "message": error["payload"][0]["message"],  # type: ignore[index]
        }
    ]


def test_describe_refuses_the_sandbox_corpus_files(sdk_host: RunnerHost) -> None:
    cases = sorted(SANDBOX_ESCAPES.glob("pydantic_raw_schema_*.py"))
    assert len(cases) >= 30
    for path in cases:
        source = path.read_text(encoding="utf-8")
        if "def run(nango, input):\n    return None" not in source:
            continue  # the attack runs inside the function, not at module load
        error = _describe(sdk_host, {path.name: source})
        expected = "compile_error" if "# expect: compile_error" in source else "sandbox_violation"
        assert error["type"] == expected, (path.name, error)


def test_the_worker_stays_usable_after_a_refusal(sdk_host: RunnerHost) -> None:
    deep = ESCAPES / "pydantic_raw_schema_deep_nesting.py"
    error = error_of(run(sdk_host, {deep.name: deep.read_text(encoding="utf-8")}, Scripted()))
    assert error["type"] == "sandbox_violation", error
    fine = SYNC.replace('schema = {{"type": "any"}}\n', "").format(annotation="int | None")
    outcome = run(sdk_host, {"items.py": fine}, Scripted(), kind="sync")
    assert outcome.ok, outcome.error
