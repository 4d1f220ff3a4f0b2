"""Wiring the sandbox's OS containment into the runner's workers."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox._containment import (
    ContainmentError,
    ContainmentSettings,
    cleanup_cgroup,
    contain_worker,
    default_cgroup_name,
    prepare,
    probe,
)
from sandbox._limits import WorkerLimits


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


@dataclass(frozen=True)
class Containment:
    """What each worker applies to itself, and what the warm parent does once it has died."""

    settings: ContainmentSettings

    def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
        """Contains the calling worker; only its socket stays open."""
        contain_worker(self.settings, worker_limits(limits), keep_fds=[sock.fileno()])

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
