"""A run's record counts by model: added up, handed over once, bounded."""

from __future__ import annotations

import pytest

from orchestrator.webhooks import Progress, RunTally, _tally


def test_counts_add_up_by_model_and_are_popped_once() -> None:
    tally = RunTally()
    tally.add("r1", "Item", 2, 0, 0)
    tally.add("r1", "Item", 0, 1, 1)
    tally.add("r1", "Other", 0, 0, 4)
    tally.add("r2", "Item", 9, 9, 9)
    assert tally.pop("r1") == {
        "Item": {"added": 2, "updated": 1, "deleted": 1},
        "Other": {"added": 0, "updated": 0, "deleted": 4},
    }
    assert tally.pop("r1") == {}
    assert tally.pop("r2") == {"Item": {"added": 9, "updated": 9, "deleted": 9}}


def test_models_and_runs_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tally, "MAX_MODELS", 2)
    monkeypatch.setattr(_tally, "MAX_RUNS", 2)
    tally = RunTally()
    for model in ("A", "B", "C"):
        tally.add("r1", model, 1, 0, 0)
    assert sorted(tally.pop("r1")) == ["A", "B"]
    for run in ("r1", "r2", "r3"):
        tally.add(run, "A", 1, 0, 0)
    assert tally.pop("r1") == {}  # the oldest, dropped for r3
    assert tally.pop("r3") == {"A": {"added": 1, "updated": 0, "deleted": 0}}


def test_progress_adds_up_all_models_and_the_requests_until_the_run_ends() -> None:
    tally = RunTally()
    assert tally.progress("r1") is None
    tally.requested("r1")
    assert tally.progress("r1") == Progress(requests=1)
    tally.add("r1", "Item", 2, 1, 0)
    tally.add("r1", "Other", 1, 0, 3)
    tally.requested("r1")
    assert tally.progress("r1") == Progress(3, 1, 3, 2)
    tally.pop("r1")
    assert tally.progress("r1") is None


def test_requests_are_bounded_by_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tally, "MAX_RUNS", 2)
    tally = RunTally()
    for run in ("r1", "r2", "r3"):
        tally.requested(run)
    assert tally.progress("r1") is None  # the oldest, dropped for r3
    assert tally.progress("r3") == Progress(requests=1)
