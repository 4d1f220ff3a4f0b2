"""Sync frequencies: ``"every hour"``, ``"every 2 days"``, ``"30 minutes"``, ... to seconds.

The grammar is the seed platform's: an optional ``every``, then either a named interval
(``hour``, ``day``, ``week``, ``month``, ``half hour``, ``quarter hour``, ``half day``) or a
number and a unit as the ``ms`` package reads them (``1m``, ``2 days``, ``3 week``, ``1.5h``;
a bare number is milliseconds). corral also accepts a unit without a number (``every minute``).
Case and extra spaces do not matter. The shortest interval is 30 seconds, the longest 366 days
(a schedule's next due time is computed from it: ``every 10000 years`` would pass year 9999).

In the core because both sides read it: a sync's definition (``runner.sdk``) and a connection's
own frequency for one schedule (``StartSync``, in the orchestrator).
"""

from __future__ import annotations

import math
import re

from corral.errors import RunFailure

MIN_SECONDS = 30.0
"""The shortest interval a sync may run at."""
MAX_SECONDS = 366 * 24 * 3600.0
"""The longest interval a sync may run at (366 days)."""

_SECOND = 1.0
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_WEEK = 7 * _DAY
_UNITS: dict[str, float] = {
    **dict.fromkeys(("milliseconds", "millisecond", "msecs", "msec", "ms"), 0.001),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), _SECOND),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), _MINUTE),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), _HOUR),
    **dict.fromkeys(("days", "day", "d"), _DAY),
    **dict.fromkeys(("weeks", "week", "w"), _WEEK),
    **dict.fromkeys(("months", "month", "mo"), 30.4375 * _DAY),
    **dict.fromkeys(("years", "year", "yrs", "yr", "y"), 365.25 * _DAY),
}
_NAMED: dict[str, float] = {
    "half hour": 30 * _MINUTE,
    "quarter hour": 15 * _MINUTE,
    "half day": 12 * _HOUR,
    "month": 30 * _DAY,  # the seed platform's "every month" is 30 days, not ms's 30.4375
}
_AMOUNT = re.compile(r"^(?P<number>-?(?:\d+)?\.?\d+)? *(?P<unit>[a-z]+)?$")


def _invalid(text: str, why: str) -> RunFailure:
    return RunFailure(
        "invalid_definition",
        f"invalid frequency {text!r}: {why}",
        payload={"field": "frequency", "value": text},
    )


def parse_frequency(text: object) -> float:
    """The interval of a frequency string, in seconds.

    Raises:
        RunFailure: ``invalid_definition`` when the text is not a frequency, or is shorter
            than 30 seconds or longer than 366 days.
    """
    if not isinstance(text, str) or not text.strip():
        raise _invalid(str(text), "a sync needs a frequency such as 'every hour'")
    words = " ".join(text.lower().split())
    body = words.removeprefix("every ").strip()
    seconds = _NAMED.get(body)
    if seconds is None:
        seconds = _amount(text, body)
    if seconds < MIN_SECONDS:
        raise _invalid(text, f"the shortest interval is {MIN_SECONDS:g} seconds")
    if seconds > MAX_SECONDS:
        raise _invalid(text, "the longest interval is 366 days")
    return seconds


def bounded_seconds(seconds: float) -> float:
    """An interval as stored (or reported) brought within ``MIN_SECONDS`` and ``MAX_SECONDS``;
    one that is not a finite number is the longest. For date arithmetic on a value no parse
    checked (a row written before the bound, a breached runner's report)."""
    if not math.isfinite(seconds):
        return MAX_SECONDS
    return min(max(seconds, MIN_SECONDS), MAX_SECONDS)


def _amount(text: str, body: str) -> float:
    match = _AMOUNT.match(body)
    if match is None or not (match["number"] or match["unit"]):
        raise _invalid(text, "expected a number and a unit, such as 'every 2 hours'")
    unit = match["unit"] or "ms"
    if unit not in _UNITS:
        raise _invalid(text, f"unknown unit {unit!r}")
    number = float(match["number"]) if match["number"] else 1.0
    seconds = number * _UNITS[unit]
    if not math.isfinite(seconds) or seconds <= 0:
        raise _invalid(text, "the interval must be positive")
    return seconds
