"""Wiring the sandbox's OS containment into the runner's workers."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral._process import fresh_environment, fresh_python
from corral.limits import CEILING, defaults_for
from sandbox.os import (
    ContainmentError,
    ContainmentSettings,
    HostSupport,
    WorkerLimits,
    apply_rlimits,
    cleanup_cgroup,
    contain_worker,
    default_cgroup_name,
    prepare,
)


def worker_limits(limits: Mapping[str, Any]) -> WorkerLimits:
    """The worker limits of a run's ``limits`` message (a missing field is an action's)."""
    run = defaults_for("action").filled(limits)
    return WorkerLimits(
        wall_seconds=run.wall_seconds,
        cpu_seconds=run.cpu_seconds,
        memory_bytes=run.memory_bytes,
        max_open_files=run.max_open_files,
        max_output_bytes=run.max_output_bytes,
    )


IDLE_LIMITS = WorkerLimits(
    wall_seconds=CEILING.wall_seconds,
    cpu_seconds=CEILING.cpu_seconds,
    memory_bytes=CEILING.memory_bytes,
    max_open_files=CEILING.max_open_files,
)
"""What a worker is contained with before it knows its run: ``corral.limits.CEILING``, the
most any run may ask (the host refuses a run above it with ``invalid_limits``)."""

_LOWERED = ("wall_seconds", "cpu_seconds", "memory_bytes", "max_open_files")


def _lowered(ceiling: WorkerLimits, wanted: WorkerLimits) -> WorkerLimits:
    """``wanted`` with the ceiling's process limit.

    Raises:
        ContainmentError: a limit above the ceiling, which the host refuses before a worker
            sees the run; never capped silently.
    """
    for name in _LOWERED:
        if getattr(wanted, name) > getattr(ceiling, name):
            raise ContainmentError(f"the run's {name} is above the worker's ceiling")
    return dataclasses.replace(
        wanted, max_processes=min(ceiling.max_processes, wanted.max_processes)
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
        """Contains a freshly forked worker; only its socket stays open.

        It also works out a run's limits once, without applying them: the first time in a
        worker, that path's pages are copied from the warm parent's (0.15-0.2 ms measured on
        the run's path, against 0.02 ms once done here)."""
        contain_worker(self.settings, self.idle_limits, keep_fds=[sock.fileno()])
        with contextlib.suppress(ContainmentError):  # only pages touched: the run checks again
            self._run_limits({})

    def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
        """Lowers the worker's rlimits to its run's limits (never above the idle ceiling)."""
        del sock
        if "rlimits" in self.settings.layers:
            apply_rlimits(self._run_limits(limits))

    def _run_limits(self, limits: dict[str, Any]) -> WorkerLimits:
        return _lowered(self.idle_limits, worker_limits(limits))

    def cleanup(self, pid: int) -> None:
        """Removes a reaped worker's cgroup (and kills anything it left in it)."""
        with contextlib.suppress(OSError):
            cleanup_cgroup(self.settings, default_cgroup_name(pid))

    def to_spec(self) -> dict[str, Any]:
        """This containment as JSON, for a warm parent started as a fresh interpreter."""
        limits = dataclasses.asdict(self.idle_limits)
        return {"settings": _settings_spec(self.settings), "idle_limits": limits}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Containment:
        """The containment :meth:`to_spec` wrote, prepared in this process (the seccomp
        program compiled, the cgroup found: what each worker forked from it inherits)."""
        settings = ContainmentSettings(**spec["settings"])
        prepare(settings)
        return cls(settings, WorkerLimits(**spec["idle_limits"]))


def make_containment(strict: bool) -> tuple[Containment, dict[str, Any]]:
    """The containment of this host's workers, and a report of the layers.

    Probes the host once, in a fresh interpreter (:func:`probe_apart`), then prepares (compiles
    seccomp, sizes Landlock, finds the cgroup hierarchy) in this process, as the warm parent
    does in its own.

    Raises:
        ContainmentError: in strict mode, when the host lacks a layer.
    """
    support = probe_apart(ContainmentSettings(strict=strict))
    if strict and support.missing:
        missing = ", ".join(f"{k} ({v})" for k, v in sorted(support.missing.items()))
        raise ContainmentError(f"strict containment: the host lacks {missing}")
    settings = ContainmentSettings(strict=strict, layers=support.available)
    prepare(settings)
    layers = {"layers_applied": sorted(support.available), "layers_missing": dict(support.missing)}
    return Containment(settings), layers


_PROBE = (
    "from sandbox.os import ContainmentSettings, probe\n"
    "print(json.dumps(probe(ContainmentSettings(**spec['settings'])).to_dict()))\n"
)


def probe_apart(settings: ContainmentSettings) -> HostSupport:
    """``sandbox.os.probe`` in a fresh interpreter of this Python (``-I``, this process's
    ``sys.path``, ``PATH`` alone): the probe forks to try the layers, and this process forks
    nothing, so one holding threads (gRPC's, an author's test process) may call it. What the
    fresh interpreter can apply is what a worker of the warm parent, another, can.
    """
    try:
        done = subprocess.run(
            fresh_python(_PROBE, {"settings": _settings_spec(settings)}),
            env=fresh_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        report = json.loads(done.stdout.decode().strip().splitlines()[-1])
        return HostSupport(frozenset(report["available"]), dict(report["missing"]))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError) as exc:
        why = f"the probe did not report ({type(exc).__name__}: {exc})"
        return HostSupport(frozenset(), dict.fromkeys(settings.layers, why))


def _settings_spec(settings: ContainmentSettings) -> dict[str, Any]:
    return dataclasses.asdict(settings) | {"layers": sorted(settings.layers)}
