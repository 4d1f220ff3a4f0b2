"""`corral test`: the comparison rules, fixture discovery, and the six recorded fixtures.

The recorded fixtures are read from ../shared/fixtures (beside the repository) and never copied
into it: they are Elastic License 2.0 data. Without them, those tests skip and say why.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from corral.cli._test_suite import discover
from corral.testing import (
    ABSENT,
    Verdict,
    check,
    differences,
    fixture_problem,
    json_equal,
    render,
    run_context,
)
from corral.testing._verdict import MAX_VALUE_CHARS

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures"
FUNCTIONS = ROOT / "tests" / "fixture_functions"
needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason=f"the recorded fixtures are not at {FIXTURES} (../shared/fixtures beside the repo)",
)
INTEGRATIONS = ["auth0-cc", "box", "canva", "github", "splitwise", "trello"]


def corral_test(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral", "test", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---- comparison rules ----


def test_object_key_order_is_ignored() -> None:
    assert json_equal({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"d": 3, "c": 2}, "a": 1})


def test_integers_equal_floats_but_not_booleans() -> None:
    assert json_equal({"n": 1}, {"n": 1.0})
    assert json_equal([1920, 1080.0], [1920.0, 1080])
    assert not json_equal({"n": 1}, {"n": True})
    assert not json_equal(0, False)
    assert not json_equal("1", 1)


def test_list_order_matters() -> None:
    assert not json_equal([1, 2], [2, 1])
    found = differences([{"id": "1"}, {"id": "2"}], [{"id": "2"}, {"id": "1"}], "batchSave.X")
    assert [d.path for d in found] == ["batchSave.X[0].id", "batchSave.X[1].id"]


def test_null_differs_from_absent() -> None:
    assert not json_equal({"a": None}, {})
    assert not json_equal({}, {"a": None})
    (diff,) = differences({"a": None}, {})
    assert diff.path == "a"
    assert diff.expected is None
    assert diff.actual is ABSENT


def test_list_length_difference_is_named() -> None:
    found = differences([1, 2, 3], [1, 2], "output.items")
    assert found[0].note == "expected 3 items, got 2"
    assert found[1].path == "output.items[2]"
    assert found[1].actual is ABSENT


def test_paths_quote_keys_that_are_not_names() -> None:
    (diff,) = differences({"a b": {"x": 1}}, {"a b": {"x": 2}}, "output")
    assert diff.path == 'output["a b"].x'


ACTION_FIXTURE = {"input": {"id": "1"}, "output": {"id": "1", "tags": ["a"], "note": None}}


def ok(**result: object) -> dict[str, object]:
    return {"ok": True, "output": None, "records": {}, "deleted": {}, "error": None} | result


def test_action_output_compared_as_json() -> None:
    assert check("action", ACTION_FIXTURE, ok(output={"note": None, "tags": ["a"], "id": "1"})).ok
    verdict = check("action", ACTION_FIXTURE, ok(output={"id": "1", "tags": ["a"]}))
    assert not verdict.ok
    assert verdict.differences[0].path == "output.note"


def test_action_null_output_differs_from_a_missing_one() -> None:
    assert check("action", {"output": None}, ok(output=None)).ok
    verdict = check("action", {"input": {}}, ok(output=None))
    assert not verdict.ok
    assert "no 'output'" in verdict.reason
    assert not check("action", {"output": {}}, ok(output=None)).ok


SYNC_FIXTURE = {
    "nango": {
        "batchSave": {"Issue": [{"id": "1", "n": 1}, {"id": "2", "n": 2}], "Label": []},
        "batchDelete": {"Issue": [], "Label": [{"id": "9"}]},
    }
}


def test_sync_records_per_model_and_deletes_only_where_listed() -> None:
    records = {"Issue": [{"n": 1.0, "id": "1"}, {"id": "2", "n": 2}]}
    # Issue deletions are not listed (empty): extra ones pass, as in the seeds.
    deleted = {"Issue": [{"id": "7"}], "Label": [{"id": "9"}]}
    assert check("sync", SYNC_FIXTURE, ok(records=records, deleted=deleted)).ok
    verdict = check("sync", SYNC_FIXTURE, ok(records=records, deleted={"Issue": [{"id": "7"}]}))
    assert not verdict.ok
    assert verdict.differences[0].path == "batchDelete.Label"


def test_sync_model_never_saved_compares_as_empty() -> None:
    verdict = check("sync", SYNC_FIXTURE, ok(deleted={"Label": [{"id": "9"}]}))
    assert not verdict.ok
    assert verdict.differences[0].note == "expected 2 items, got 0"
    no_records = {"nango": {"batchSave": {"Issue": []}}}
    assert check("sync", no_records, ok()).ok


def test_sync_fixture_without_batch_save_fails() -> None:
    verdict = check("sync", {"nango": {}}, ok())
    assert not verdict.ok
    assert "nango.batchSave" in verdict.reason


def test_a_run_error_fails_with_its_type_message_and_place() -> None:
    error = {"type": "script_http_error", "message": "status 404", "file": "x.py", "line": 3}
    verdict = check("sync", SYNC_FIXTURE, {"ok": False, "error": error})
    assert verdict.reason == "script_http_error: status 404 (x.py:3)"
    assert check("on_event", {}, ok()).ok


def test_rendered_diff_is_bounded() -> None:
    expected = [{"id": str(i), "body": "x" * 1000} for i in range(20)]
    actual = [{"id": str(i), "body": "y" * 1000} for i in range(20)]
    lines = render(
        check("sync", {"nango": {"batchSave": {"M": expected}}}, ok(records={"M": actual}))
    )
    assert lines[0] == "the records differ from the fixture's"
    assert lines[1] == "  at batchSave.M[0].body:"
    assert all(len(line) < MAX_VALUE_CHARS + 20 for line in lines)
    assert lines[-1] == "  ... and 15 more difference(s)"
    assert render(Verdict(ok=True)) == []


def test_malformed_fixtures_are_named() -> None:
    assert fixture_problem([]) == "the fixture is not a JSON object"
    assert "'nango'" in fixture_problem({"nango": []})
    assert "'api'" in fixture_problem({"api": {"get": []}})
    assert "nango.batchSave" in fixture_problem({"nango": {"batchSave": {"M": {}}}})
    assert fixture_problem({"nango": {"batchSave": {"M": []}}, "api": {"get": {}}}) == ""


def test_offline_runs_get_the_providers_pagination_defaults() -> None:
    assert run_context("github").paginate_defaults["type"] == "link"
    assert not run_context("no-such-provider").paginate_defaults


# ---- discovery ----


def test_discovery_order_and_spellings(tmp_path: pathlib.Path) -> None:
    shop = tmp_path / "shop"
    (shop / "tests").mkdir(parents=True)
    for name in ("beside.py", "under_tests.py", "create_item.py", "helper.py", "elsewhere.py"):
        (shop / name).write_text("")
    for name in ("beside", "tests/under_tests", "create-item", "tests/orphan"):
        (shop / f"{name}.test.json").write_text("{}")
    other = tmp_path / "recordings" / "shop"
    other.mkdir(parents=True)
    (other / "elsewhere.test.json").write_text("{}")
    (other / "beside.test.json").write_text("{}")
    cases = {c.name: c for c in discover(tmp_path, tmp_path / "recordings")}
    assert sorted(cases) == ["beside", "create_item", "elsewhere", "orphan", "under_tests"]
    assert cases["beside"].fixture == other / "beside.test.json"  # --fixtures first
    assert cases["create_item"].fixture == shop / "create-item.test.json"
    assert cases["under_tests"].fixture == shop / "tests" / "under_tests.test.json"
    assert cases["orphan"].function is None
    assert cases["elsewhere"].label == "shop/elsewhere"


# ---- the six recorded fixtures, through the command ----


@needs_fixtures
@pytest.mark.parametrize("integration", INTEGRATIONS)
def test_each_recorded_fixture_passes(integration: str) -> None:
    result = corral_test(str(FUNCTIONS / integration), "--fixtures", str(FIXTURES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"PASS {integration}/")
    assert "1 passed, 0 failed" in result.stdout


@needs_fixtures
def test_all_six_in_one_run_as_json() -> None:
    result = corral_test(str(FUNCTIONS), "--fixtures", str(FIXTURES), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["passed"], report["failed"]) == (6, 0)
    names = [t["name"].split("/")[0] for t in report["tests"]]
    assert names == INTEGRATIONS


def copy_function(tmp_path: pathlib.Path, integration: str, name: str) -> pathlib.Path:
    folder = tmp_path / integration
    folder.mkdir()
    return pathlib.Path(shutil.copy(FUNCTIONS / integration / f"{name}.py", folder))


@needs_fixtures
def test_a_wrong_action_fails_with_a_diff(tmp_path: pathlib.Path) -> None:
    path = copy_function(tmp_path, "trello", "get_board")
    source = path.read_text().replace(
        "return Board.model_validate(response.data)",
        "board = Board.model_validate(response.data)\n"
        "    return board.model_copy(update={'name': board.name.upper()})",
    )
    path.write_text(source)
    result = corral_test(str(tmp_path / "trello"), "--fixtures", str(FIXTURES))
    assert result.returncode == 1
    assert "FAIL trello/get_board" in result.stdout
    assert "at output.name:" in result.stdout
    assert 'expected: "My Trello board"' in result.stdout
    assert 'actual:   "MY TRELLO BOARD"' in result.stdout
    assert "0 passed, 1 failed" in result.stdout


@needs_fixtures
def test_a_wrong_sync_fails_with_a_diff(tmp_path: pathlib.Path) -> None:
    path = copy_function(tmp_path, "splitwise", "expenses")
    source = path.read_text().replace('= str(raw["id"])\n', '= "x" + str(raw["id"])\n', 1)
    path.write_text(source)
    result = corral_test(str(tmp_path), "--fixtures", str(FIXTURES))
    assert result.returncode == 1
    assert "at batchSave.Expense[0].id:" in result.stdout
    assert 'expected: "4499523998"' in result.stdout
    assert 'actual:   "x4499523998"' in result.stdout


def test_broken_cases_fail_clearly_without_a_crash(tmp_path: pathlib.Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "orphan.test.json").write_text("{}")
    (shop / "garbled.py").write_text("from nango import create_on_event\n")
    (shop / "garbled.test.json").write_text("{not json")
    (shop / "helper.py").write_text("VALUE = 1\n")
    (shop / "helper.test.json").write_text("{}")
    (shop / "fails.py").write_text(
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    return nango.get(endpoint='/missing').data\n"
        "action = create_action(description='x', exec=run)\n"
    )
    (shop / "fails.test.json").write_text('{"output": 1}')
    result = corral_test(str(shop))
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "FAIL shop/fails" in out
    assert "script_network_error: No mock found for GET missing" in out
    assert "FAIL shop/garbled" in out
    assert "cannot read the fixture" in out
    assert "FAIL shop/helper" in out
    assert "helper.py defines no function" in out
    assert "FAIL shop/orphan" in out
    assert "no function file" in out
    assert "0 passed, 4 failed" in out
    assert "Traceback" not in result.stderr
