"""Wiring the sandbox's OS containment into the runner's workers."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.os import (
    ContainmentError,
    ContainmentSettings,
    WorkerLimits,
    apply_rlimits,
    cleanup_cgroup,
    contain_worker,
    default_cgroup_name,
    prepare,
    probe,
)


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


IDLE_LIMITS = WorkerLimits(
    wall_seconds=7 * 24 * 3600.0,
    cpu_seconds=7 * 24 * 3600,
    memory_bytes=8 << 30,
    max_open_files=64,
)
"""What a worker is contained with before it knows its run: the ceiling of every run's limits."""


def _lowered(ceiling: WorkerLimits, wanted: WorkerLimits) -> WorkerLimits:
    return WorkerLimits(
        wall_seconds=min(ceiling.wall_seconds, wanted.wall_seconds),
        cpu_seconds=min(ceiling.cpu_seconds, wanted.cpu_seconds),
        memory_bytes=min(ceiling.memory_bytes, wanted.memory_bytes),
        max_open_files=min(ceiling.max_open_files, wanted.max_open_files),
        max_processes=min(ceiling.max_processes, wanted.max_processes),
        max_output_bytes=wanted.max_output_bytes,
    )


@dataclass(frozen=True)
class Containment:
    """What each worker applies to itself, and what the warm parent does once it has died.

    A worker is contained as soon as it is forked, ahead of demand, with ``IDLE_LIMITS`` (the
    cgroup gets those); when its run arrives it only lowers its rlimits to the run's limits.
    So the isolation layers cost nothing on the request path.
    """

    settings: ContainmentSettings
    idle_limits: WorkerLimits = IDLE_LIMITS

    def prepare_idle(self, sock: socket.socket) -> None:
        """Contains a freshly forked worker; only its socket stays open."""
        contain_worker(self.settings, self.idle_limits, keep_fds=[sock.fileno()])

    def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
        """Lowers the worker's rlimits to its run's limits (never above the idle ceiling)."""
        del sock
        if "rlimits" in self.settings.layers:
            apply_rlimits(_lowered(self.idle_limits, worker_limits(limits)))

    def cleanup(self, pid: int) -> None:
        """Removes a reaped worker's cgroup (and kills anything it left in it)."""
        with contextlib.suppress(OSError):
            cleanup_cgroup(self.settings, default_cgroup_name(pid))


def make_containment(strict: bool) -> tuple[Containment, dict[str, Any]]:
    """The containment of this host's workers, and a report of the layers.

    Probes the host once, then prepares (compiles seccomp, sizes Landlock, finds the cgroup
    hierarchy) in this process, so that the warm parent and every worker inherit it.

    Raises:
        ContainmentError: in strict mode, when the host lacks a layer.
    """
    support = probe(ContainmentSettings(strict=strict))
    if strict and support.missing:
        missing = ", ".join(f"{k} ({v})" for k, v in sorted(support.missing.items()))
        raise ContainmentError(f"strict containment: the host lacks {missing}")
    settings = ContainmentSettings(strict=strict, layers=support.available)
    prepare(settings)
    layers = {"layers_applied": sorted(support.available), "layers_missing": dict(support.missing)}
    return Containment(settings), layers
