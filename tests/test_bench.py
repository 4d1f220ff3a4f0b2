"""``python -m bench --quick``: every part of the benchmark runs, in seconds, and reports.

The numbers of a quick run mean nothing (a few runs on a shared machine); this checks that the
benchmark works on both engines (PostgreSQL: actions on a real `corral serve` with
CORRAL_DATABASE_URL, and batch_save against COPY on the same server), so that it still does
when someone runs it for real.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

ACTION_KEYS = {
    "floor_grpc_round_trip_ms",
    "trivial_action_end_to_end_ms",
    "trivial_action_end_to_end_p99_ms",
    "end_to_end_over_floor",
    "trivial_actions_per_second",
}


@pytest.mark.timeout(240)  # two `corral serve` and a PostgreSQL server, one after the other
def test_a_quick_bench_measures_both_engines() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--engine", "both"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert set(result) == {"sqlite", "postgresql"}
    for engine in ("sqlite", "postgresql"):
        assert set(result[engine]) >= ACTION_KEYS
        assert result[engine]["trivial_actions_per_second"] > 0
    records = result["postgresql"]["batch_save_vs_copy"]
    assert records["records"] == 2_000
    assert records["floor_raw_copy_ms"] > 0
    assert records["batch_save_new_over_floor"] > 0
