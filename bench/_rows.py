"""A row of the benchmark's table: a measured value, its floor in the same run, and a target.

Every row's ``value`` is a median; latencies also carry their p99. ``ratio`` says how far the
value is from its floor, always as "times slower than the floor" (a latency over its floor, a
floor's rate over the measured rate), so that 1.0 is the machine and bigger is worse. A target
is informational: ``met`` is True, False, or None when the row has no target.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of the table."""

    group: str
    """What part of the system (``actions``, ``records``, ``sync``, ``tenants``, ``memory``)."""
    name: str
    unit: str
    """``ms``, ``/s`` (a rate: bigger is better), ``records/s``, ``MB``, ``s``."""
    value: float
    p99: float | None = None
    floor: float | None = None
    floor_what: str = ""
    target: str = ""
    met: bool | None = None
    samples: int = 0
    engine: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Times slower than the floor (None without a floor)."""
        if not self.floor or not self.value:
            return None
        if self.unit.endswith("/s"):
            return round(self.floor / self.value, 2)
        return round(self.value / self.floor, 2)

    @property
    def key(self) -> str:
        """What identifies the row across runs (for ``--compare``)."""
        return f"{self.engine}/{self.group}/{self.name}"

    def as_json(self) -> dict[str, Any]:
        """The row as a JSON object, with its ratio."""
        return asdict(self) | {"ratio": self.ratio, "key": self.key}


def ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded for the table."""
    return round(seconds * 1000, 3)


def median(samples: Sequence[float]) -> float:
    """The median (0 for no samples)."""
    return statistics.median(samples) if samples else 0.0


def p99(samples: Sequence[float]) -> float:
    """The 99th percentile by rank (the largest sample below 100 of them)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def latency_row(
    group: str,
    name: str,
    samples: Sequence[float],
    floor: Sequence[float],
    floor_what: str,
    *,
    ratio_target: float | None = None,
) -> Row:
    """A latency row from samples in seconds, its floor the median of ``floor``."""
    row = Row(
        group,
        name,
        "ms",
        ms(median(samples)),
        ms(p99(samples)),
        ms(median(floor)),
        floor_what,
        samples=len(samples),
    )
    if ratio_target is not None:
        check(row, f"≤ {ratio_target:g}x floor", lambda r: (r.ratio or 0) <= ratio_target)
    return row


def check(row: Row, target: str, test: Callable[[Row], bool]) -> Row:
    """Sets the row's target text and whether the value meets it."""
    row.target = target
    row.met = bool(test(row))
    return row
