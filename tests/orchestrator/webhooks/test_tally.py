"""A running sync's progress: its records as the store counts them, its requests counted here
until the run ends, bounded."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from orchestrator.webhooks import Progress, RunTally, _tally

STORED: dict[str, dict[str, dict[str, int]]] = {
    "r1": {
        "Item": {"added": 2, "updated": 1, "deleted": 0},
        "Other": {"added": 1, "updated": 0, "deleted": 3},
    }
}


def _stored(run_id: str) -> Mapping[str, dict[str, int]]:
    return STORED.get(run_id, {})


def test_progress_adds_up_the_stored_models_and_the_requests_until_the_run_ends() -> None:
    tally = RunTally(_stored)
    assert tally.progress("r2") == Progress()
    tally.requested("r1")
    tally.requested("r1")
    assert tally.progress("r1") == Progress(3, 1, 3, 2)
    tally.ended("r1")
    assert tally.progress("r1") == Progress(3, 1, 3, 0)  # the requests are forgotten


def test_a_runs_record_counts_are_the_stores() -> None:
    asked: list[str] = []

    def stored(run_id: str) -> Mapping[str, dict[str, int]]:
        asked.append(run_id)
        return _stored(run_id)

    tally = RunTally(stored)
    assert tally.record_counts("r2") == {}
    assert tally.record_counts("r1") == STORED["r1"]
    assert asked == ["r2", "r1"]


def test_requests_are_bounded_by_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tally, "MAX_RUNS", 2)
    tally = RunTally(_stored)
    for run in ("r1", "r2", "r3"):
        tally.requested(run)
    assert tally.progress("r2") == Progress(requests=1)
    assert tally.progress("r1").requests == 0  # the oldest, dropped for r3
    assert tally.progress("r3") == Progress(requests=1)
