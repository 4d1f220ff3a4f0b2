"""Wiring the sandbox's OS containment into the runner's workers."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from sandbox._containment import ContainmentSettings, contain_worker, probe
from sandbox._limits import WorkerLimits

_log = structlog.get_logger("corral.runner")

Contain = Callable[[socket.socket, dict[str, Any]], None]


def worker_limits(limits: Mapping[str, Any]) -> WorkerLimits:
    """The worker limits of a run's ``limits`` message."""
    defaults = WorkerLimits()
    return WorkerLimits(
        wall_seconds=float(limits.get("wall_seconds") or defaults.wall_seconds),
        cpu_seconds=int(limits.get("cpu_seconds") or defaults.cpu_seconds),
        memory_bytes=int(limits.get("memory_bytes") or defaults.memory_bytes),
        max_open_files=int(limits.get("max_open_files") or defaults.max_open_files),
        max_output_bytes=int(limits.get("max_output_bytes") or defaults.max_output_bytes),
    )


def make_containment(strict: bool) -> tuple[Contain, dict[str, Any]]:
    """The function each worker applies to itself, and what the host supports.

    Raises:
        ContainmentError: in strict mode, when the host lacks a layer.
    """
    settings = ContainmentSettings(strict=strict)
    support = probe(settings)
    if strict and support.missing:
        from sandbox._containment import ContainmentError  # noqa: PLC0415

        raise ContainmentError(
            "strict containment: missing layers: "
            + ", ".join(f"{k} ({v})" for k, v in sorted(support.missing.items()))
        )
    settings = ContainmentSettings(strict=strict, layers=support.available)

    def contain(sock: socket.socket, limits: dict[str, Any]) -> None:
        contain_worker(settings, worker_limits(limits), keep_fds=[sock.fileno()])

    layers = {"layers_applied": sorted(support.available), "layers_missing": dict(support.missing)}
    return contain, layers
