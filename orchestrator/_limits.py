"""Limits per run, per environment setting, with the defaults of the design."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.v1 import common_pb2

DEFAULTS: Mapping[str, Mapping[str, float]] = {
    "action": {"wall_seconds": 15 * 60, "cpu_seconds": 10 * 60, "memory_bytes": 1 << 30},
    "sync": {"wall_seconds": 24 * 3600, "cpu_seconds": 12 * 3600, "memory_bytes": 2 << 30},
    "on_event": {"wall_seconds": 5 * 60, "cpu_seconds": 4 * 60, "memory_bytes": 1 << 30},
    "describe": {"wall_seconds": 60, "cpu_seconds": 30, "memory_bytes": 1 << 30},
}
"""Action 15 min wall, sync 24 h wall; an environment's ``limits`` setting overrides."""


MAX_RUN_OUTPUT_BYTES = 1 << 30
"""Default of everything a worker may send in one run (calls, logs, records, result)."""


def limits_for(kind: str, settings: Mapping[str, Any]) -> common_pb2.RunLimits:
    """The limits of a run of ``kind`` in an environment with these settings.

    ``settings["limits"][kind]`` may set ``wall_seconds``, ``cpu_seconds``, ``memory_bytes``,
    ``max_output_bytes`` (one message of the worker: a call or the result),
    ``max_run_output_bytes`` (everything the worker sends in the run, all messages together)
    and ``max_open_files``.
    """
    base = dict(DEFAULTS.get(kind, DEFAULTS["action"]))
    override = (settings.get("limits") or {}).get(kind) or {}
    merged = base | {k: v for k, v in override.items() if isinstance(v, int | float) and v > 0}
    return common_pb2.RunLimits(
        wall_seconds=float(merged["wall_seconds"]),
        cpu_seconds=int(merged["cpu_seconds"]),
        memory_bytes=int(merged["memory_bytes"]),
        max_output_bytes=int(merged.get("max_output_bytes", 16 << 20)),
        max_open_files=int(merged.get("max_open_files", 64)),
        max_run_output_bytes=int(merged.get("max_run_output_bytes", MAX_RUN_OUTPUT_BYTES)),
    )
