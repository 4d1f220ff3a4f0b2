"""``python -m bench --quick``: every row of the benchmark runs, in seconds, and reports.

The numbers of a quick run mean nothing (a few runs on a shared machine); this checks that the
benchmark works on both engines (every row of issue 13's table with its floor, the Markdown and
JSON it writes, the comparison with a previous JSON), so that it still does when someone runs it
for real. It asserts the shape, never a time.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from bench import __main__ as bench_main
from bench import profile
from bench._rows import Row

ROOT = pathlib.Path(__file__).resolve().parents[1]

ROWS_WITH_FLOORS = {
    "actions/trivial action, end to end, one client",
    "actions/trivial actions/s, 4 client threads",
    "actions/SDK callback (get_metadata)",
    "actions/proxied GET to a local server",
    "records/batch_save, new records, end to end",
    "records/batch_save, unchanged records (second run)",
    "sync/full sync, 500 records over 5 pages",
    "sync/full sync again, unchanged",
}
ROWS = ROWS_WITH_FLOORS | {
    "tenants/4 concurrent runs from 2 environments: throughput",
    "tenants/4 concurrent runs from 2 environments: least-served environment",
    "memory/idle: runner host RSS",
    "memory/idle: worker (largest) USS",
    "memory/under load: runner host RSS",
}
TARGETED = {
    "actions/trivial action, end to end, one client",
    "actions/SDK callback (get_metadata)",
    "memory/idle: worker (largest) USS",
}


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )


def _rows(document: dict[str, Any], engine: str) -> dict[str, dict[str, Any]]:
    return {f"{r['group']}/{r['name']}": r for r in document["rows"] if r["engine"] == engine}


@pytest.mark.timeout(300)  # two `corral serve` and a PostgreSQL server, one after the other
def test_a_quick_bench_measures_every_row_on_both_engines(tmp_path: pathlib.Path) -> None:
    done = _bench("--engine", "both", "--results", str(tmp_path))

    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads((tmp_path / "latest.json").read_text())
    assert document["context"]["engines"] == ["sqlite", "postgresql"]
    for engine in ("sqlite", "postgresql"):
        rows = _rows(document, engine)
        assert set(rows) >= ROWS, sorted(ROWS - set(rows))
        for key in ROWS:
            assert rows[key]["value"] > 0, key
        for key in ROWS_WITH_FLOORS:
            assert rows[key]["floor"] > 0, key
            assert rows[key]["ratio"] > 0, key
        for key in TARGETED:
            assert rows[key]["target"], key
            assert rows[key]["met"] in (True, False), key
        assert rows["actions/trivial action, end to end, one client"]["p99"] > 0
    storage = _rows(document, "postgresql")["records/storage save_records, new, no gRPC"]
    assert storage["floor_what"] == "raw COPY"
    assert storage["extra"]["records"] == 1_000
    table = (tmp_path / "latest.md").read_text()
    assert "| sqlite | trivial action, end to end, one client |" in table
    assert table in done.stdout
    assert len(list(tmp_path.glob("*.json"))) == 2  # a timestamped one and latest.json


@pytest.mark.timeout(120)
def test_a_bench_compares_each_row_with_a_previous_run(tmp_path: pathlib.Path) -> None:
    previous = tmp_path / "previous.json"
    previous.write_text(
        json.dumps(
            {
                "context": {},
                "rows": [
                    {"key": "sqlite/actions/trivial action, end to end, one client", "value": 1e9}
                ],
            }
        )
    )

    done = _bench(
        "--engine", "sqlite", "--only", "actions", "--results", str(tmp_path),
        "--compare", str(previous),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    compared = done.stdout.split("Against ")[1]
    assert "| sqlite | trivial action, end to end, one client | 1,000,000,000 ms |" in compared
    assert "(better) |" in compared
    assert "| sqlite | SDK callback (get_metadata) | — |" in compared
    assert "new row |" in compared


def test_a_ratio_is_times_the_floor_the_slow_way_round() -> None:
    latency = Row("actions", "a", "ms", value=6.0, floor=2.0)
    rate = Row("actions", "b", "/s", value=100.0, floor=400.0)
    memory = Row("memory", "c", "MB", value=50.0)

    assert latency.ratio == 3.0
    assert rate.ratio == 4.0
    assert memory.ratio is None


def test_profiling_without_py_spy_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(profile, "py_spy", lambda: None)
    monkeypatch.setattr(sys, "argv", ["bench", "--quick", "--profile", "trivial"])

    with pytest.raises(SystemExit) as stopped:
        bench_main.main()

    assert stopped.value.code == 2
    assert "--profile needs py-spy" in capsys.readouterr().err


STANDALONE = sorted(
    path.stem
    for path in (ROOT / "bench").glob("*.py")
    if not path.stem.startswith("_") and "argparse.ArgumentParser(" in path.read_text()
)
"""The benchmarks run on their own (``python -m bench.NAME``); ``floors`` runs as a module only
to measure a floor apart, for the table."""


def test_every_bench_module_imports() -> None:
    """A module the table does not run (``python -m bench.records_e2e`` and the like) still
    imports: one did not, after a module it used was renamed."""
    import importlib  # noqa: PLC0415

    modules = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__main__")
    assert "records_e2e" in modules
    for name in modules:
        importlib.import_module(f"bench.{name}")


@pytest.mark.parametrize("name", STANDALONE)
def test_each_standalone_bench_answers_help(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


@pytest.mark.timeout(180)
def test_against_a_revision_runs_both_trees_in_turns() -> None:
    """``--against REV``: the revision's tree (a temporary worktree, removed after) and this
    checkout, one run each here, and a row per path with both values and the change."""
    done = _bench("--quick", "--engine", "sqlite", "--only", "actions", "--against", "HEAD")
    assert done.returncode == 0, done.stderr
    assert "before 1/2" in done.stderr  # in turns, two pairs
    assert "after 2/2" in done.stderr
    lines = done.stdout.splitlines()
    assert "This checkout against HEAD, 2 alternating pairs:" in lines
    row = next(line for line in lines if "| trivial action, end to end, one client |" in line)
    before, after, change, agreeing = (cell.strip() for cell in row.split("|")[3:7])
    assert before.endswith(" ms")
    assert before.count(" / ") == 1
    assert after.endswith(" ms")
    assert after.count(" / ") == 1
    assert change.endswith(("(better)", "(worse)", "(same)"))
    assert agreeing == "—" or agreeing.endswith("of 2")
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "bench-against-" not in worktrees


def test_against_an_unknown_revision_says_so() -> None:
    done = _bench("--quick", "--engine", "sqlite", "--against", "no-such-revision-x")
    assert done.returncode != 0
    assert "--against no-such-revision-x" in done.stderr
