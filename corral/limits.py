"""The limits of one run: the type, the defaults per kind of run, and the ceiling of a runner.

The one place these numbers live; everything else imports them from here:

- the orchestrator starts from ``DEFAULTS[kind]`` and applies an environment's ``limits``
  setting (``orchestrator/runs/_limits.py``), and refuses a setting above ``CEILING`` when it is
  written (``orchestrator/_env_settings.py``);
- a runner fills a limit of 0 in a ``RunRequest`` from ``DEFAULTS`` of the run's kind, and
  refuses a run whose limits are above ``CEILING`` (or not positive) with the run error
  ``invalid_limits``, before any worker sees the run (``runner/host/_host.py``). Nothing is capped
  silently;
- a worker waiting for its run is contained at ``CEILING`` (``runner/host/_containment.py``), and
  lowers its rlimits to the run's limits when the run arrives.

``DEFAULTS`` are at or below ``CEILING``, which a test holds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from corral.errors import InvalidRequest
from corral.v1 import common_pb2

__all__ = [
    "CEILING",
    "DEFAULTS",
    "FIELDS",
    "INVALID_LIMITS",
    "RUN_KINDS",
    "RunLimits",
    "check_within",
    "defaults_for",
]

INVALID_LIMITS = "invalid_limits"
"""The error code of limits that are not positive or above a ceiling (INVALID_ARGUMENT)."""


@dataclass(frozen=True)
class RunLimits:
    """How much one run may use; every value is positive.

    The worker's rlimits come from ``cpu_seconds``, ``memory_bytes`` and ``max_open_files``;
    the runner host enforces the wall clock and the output sizes, never the worker.
    """

    wall_seconds: float
    """Wall-clock time of the whole run; past it the runner kills the worker."""

    cpu_seconds: int
    """CPU seconds of the worker (RLIMIT_CPU)."""

    memory_bytes: int
    """Address space of the worker (RLIMIT_AS), which counts the warm parent's mappings too."""

    max_output_bytes: int
    """The largest one message of the worker may be (a call, a log line, the result)."""

    max_open_files: int
    """Highest file descriptor number plus one the worker may create (RLIMIT_NOFILE)."""

    max_run_output_bytes: int
    """Every byte the worker sends in the run, all its messages together (counted by the host)."""

    def with_overrides(self, overrides: Mapping[str, Any]) -> RunLimits:
        """A copy with the positive numbers of ``overrides`` that name a field; others ignored."""
        changes: dict[str, Any] = {
            name: _typed(name, value)
            for name, value in overrides.items()
            if name in FIELDS and _is_positive_number(value)
        }
        return dataclasses.replace(self, **changes)

    def filled(self, given: Mapping[str, float]) -> RunLimits:
        """A copy with every non-zero value of ``given`` (0 means "this default")."""
        changes: dict[str, Any] = {
            name: _typed(name, given[name]) for name in FIELDS if given.get(name)
        }
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        """The limits as ``{field: value}``."""
        return {name: getattr(self, name) for name in FIELDS}

    def to_proto(self) -> common_pb2.RunLimits:
        """The limits as the wire message."""
        return common_pb2.RunLimits(
            wall_seconds=self.wall_seconds,
            cpu_seconds=self.cpu_seconds,
            memory_bytes=self.memory_bytes,
            max_output_bytes=self.max_output_bytes,
            max_open_files=self.max_open_files,
            max_run_output_bytes=self.max_run_output_bytes,
        )

    @classmethod
    def from_proto(cls, message: common_pb2.RunLimits, defaults: RunLimits) -> RunLimits:
        """The limits of a wire message, whose fields of 0 take ``defaults``."""
        return defaults.filled({name: getattr(message, name) for name in FIELDS})


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunLimits))
"""The names of the limits, in the order of ``RunLimits``."""

_MiB = 1 << 20
_GiB = 1 << 30
_BASE = RunLimits(
    wall_seconds=15 * 60.0,
    cpu_seconds=10 * 60,
    memory_bytes=1 * _GiB,
    max_output_bytes=16 * _MiB,
    max_open_files=64,
    max_run_output_bytes=1 * _GiB,
)

DEFAULTS: Mapping[str, RunLimits] = MappingProxyType(
    {
        "action": _BASE,
        "sync": dataclasses.replace(
            _BASE, wall_seconds=24 * 3600.0, cpu_seconds=12 * 3600, memory_bytes=2 * _GiB
        ),
        "on_event": dataclasses.replace(_BASE, wall_seconds=5 * 60.0, cpu_seconds=4 * 60),
        "describe": dataclasses.replace(_BASE, wall_seconds=60.0, cpu_seconds=30),
    }
)
"""The limits of a run of each kind (``describe`` reads a deployment's definitions) when an
environment sets none: an action 15 min of wall clock and 10 of CPU, a sync 24 h and 12 h with
2 GiB, an on-event function 5 min and 4; 1 GiB of memory, 16 MiB per message, 1 GiB per run,
64 open files."""

RUN_KINDS: tuple[str, ...] = tuple(DEFAULTS)
"""The kinds of run that have limits of their own."""

CEILING = RunLimits(
    wall_seconds=7 * 24 * 3600.0,
    cpu_seconds=7 * 24 * 3600,
    memory_bytes=8 * _GiB,
    max_output_bytes=256 * _MiB,
    max_open_files=1024,
    max_run_output_bytes=64 * _GiB,
)
"""The highest value of each limit a runner accepts (and contains its idle workers at): 7 days
of wall clock and of CPU, 8 GiB, 256 MiB per message (the worker protocol's largest frame),
1,024 open files, 64 GiB per run. An environment may not set more; a run asking more is
refused with ``invalid_limits``."""


COMPILE_RUN_WALL_SECONDS = 30.0
"""How long a compile run may take (``runner.host._compiled``: a worker that compiles a
program's files for later runs and runs nothing of them). A file of the policy's largest size,
1,000,000 characters, compiles in about 3 s on a 2-core machine; a compile run that takes
longer is killed, and its program is not kept."""


def defaults_for(kind: str) -> RunLimits:
    """The default limits of a run of ``kind`` (an unknown kind gets an action's)."""
    return DEFAULTS.get(kind, DEFAULTS["action"])


def check_within(limits: RunLimits, ceiling: RunLimits = CEILING, *, where: str = "") -> None:
    """Refuses limits that are not positive or above ``ceiling``.

    Args:
        limits: the limits to check.
        ceiling: the highest value of each field.
        where: a prefix for the field's name in the message and details, e.g. "limits.action.".

    Raises:
        InvalidRequest: code ``invalid_limits``, naming the first bad field with its value and
            the ceiling in the message and in ``details`` (``field``, ``value``, ``ceiling``).
    """
    for name in FIELDS:
        value, highest = getattr(limits, name), getattr(ceiling, name)
        if not (value > 0 and value <= highest):  # written so that NaN fails too
            what = "not positive" if not value > 0 else f"above the ceiling of {_shown(highest)}"
            raise InvalidRequest(
                f"{where}{name} is {_shown(value)}, {what}",
                code=INVALID_LIMITS,
                details={"field": where + name, "value": value, "ceiling": highest},
            )


def _shown(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _typed(name: str, value: float) -> float:
    """``value`` as the field's type: seconds of wall clock are a float, the rest integers."""
    if name == "wall_seconds":
        return float(value)
    return int(value) if math.isfinite(value) else value
