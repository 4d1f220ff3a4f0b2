"""Sync frequencies are bounded both ways where they are parsed (``corral._frequency``): one of
'every 10000 years' once passed year 9999 in the scheduler's claim and stopped every
environment's schedules (redteam-boundary2 ``schedule_far_frequency_e2e.py``)."""

from __future__ import annotations

import pytest

from corral._frequency import MAX_SECONDS, MIN_SECONDS, bounded_seconds, parse_frequency
from corral.errors import RunFailure


@pytest.mark.parametrize(
    "text",
    ["every 10000 years", "every 367 days", "every 2 years", "every 53 weeks", "13 months", "1e15"],
)
def test_a_frequency_past_366_days_is_refused(text: str) -> None:
    with pytest.raises(RunFailure) as caught:
        parse_frequency(text)
    assert caught.value.code == "invalid_definition"
    assert "longest interval" in caught.value.message or "expected" in caught.value.message


@pytest.mark.parametrize(
    ("text", "seconds"), [("every 366 days", MAX_SECONDS), ("every year", 365.25 * 86_400)]
)
def test_up_to_366_days_is_accepted(text: str, seconds: float) -> None:
    assert parse_frequency(text) == seconds


@pytest.mark.parametrize(
    ("stored", "bounded"),
    [
        (1e20, MAX_SECONDS),
        (float("inf"), MAX_SECONDS),
        (float("-inf"), MAX_SECONDS),
        (float("nan"), MAX_SECONDS),
        (-5.0, MIN_SECONDS),
        (60.0, 60.0),
    ],
)
def test_a_stored_interval_is_bounded_before_date_arithmetic(stored: float, bounded: float) -> None:
    assert bounded_seconds(stored) == bounded
