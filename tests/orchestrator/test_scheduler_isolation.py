"""One schedule that cannot be computed or started never stops the others, whoever's they are
(redteam-boundary2 ``schedule_far_frequency_e2e.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from corral.errors import InvalidRequest
from orchestrator.lifecycle._lifecycle import (
    DEFAULT_FREQUENCY_SECONDS,
    Lifecycle,
    _frequency,
    _own_frequency,
)
from orchestrator.storage._areas import FunctionRow, Schedule

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _schedule(schedule_id: int, env_id: int) -> Schedule:
    return Schedule(schedule_id, env_id, "c1", "items", "base", "running", 60.0, NOW, None)


class _Storage:
    def __init__(self, due: list[Schedule]) -> None:
        self.due = due
        self.last_runs: dict[int, str] = {}

    def claim_due_schedules(self, now: datetime) -> list[Schedule]:
        due, self.due = self.due, []
        return due

    def list_environments(self) -> list[Any]:
        return []

    def set_schedule_last_run(self, schedule_id: int, run_id: str) -> None:
        self.last_runs[schedule_id] = run_id


class _Runs:
    """Starts every schedule's run but environment 1's, whose environment cannot be read."""

    def environment(self, env_id: int) -> Any:
        if env_id == 1:
            raise OverflowError("date value out of range")
        return env_id

    def target_for(self, env: Any, *args: Any) -> tuple[Any, Any]:
        return FunctionRow("items", "sync", "1", "", {}, {}, "items.py", "h"), None

    def start(self, spec: Any, *, detached: bool = False) -> Any:
        return type("Run", (), {"run_id": f"run-{spec.env}"})()

    def submit(self, spec: Any, run: Any) -> None:
        pass


def test_a_schedule_that_cannot_start_does_not_stop_the_next() -> None:
    storage = _Storage([_schedule(1, 1), _schedule(2, 2)])
    lifecycle = Lifecycle(cast(Any, storage), cast(Any, _Runs()), clock=lambda: NOW)
    assert lifecycle.tick() == ["run-2"]
    assert storage.last_runs == {2: "run-2"}


@pytest.mark.parametrize("reported", [1e20, float("inf"), float("nan"), 5, True, "60", -1])
def test_an_interval_a_describe_run_reports_out_of_range_is_the_default(reported: Any) -> None:
    function = FunctionRow("s", "sync", "1", "", {"frequency_seconds": reported}, {}, "s.py", "h")
    assert _frequency(function) == DEFAULT_FREQUENCY_SECONDS


@pytest.mark.parametrize("text", ["every 10000 years", "every 400 days"])
def test_start_sync_refuses_a_far_frequency_typed(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _own_frequency("running", text, clear=False)
    assert caught.value.code == "invalid_frequency"
