"""Resource limits of one worker process: policy as frozen data, and the rlimits they become."""

from __future__ import annotations

import dataclasses
import resource
from dataclasses import dataclass

from corral.limits import DEFAULTS

_ACTION = DEFAULTS["action"]


@dataclass(frozen=True)
class WorkerLimits:
    """How much of the machine one run may use.

    The defaults are an action's (``corral.limits.DEFAULTS``); change them with the ``with_*``
    builders. Every value must be positive (``max_output_bytes`` and the others
    are not "unlimited" at 0).
    """

    wall_seconds: float = _ACTION.wall_seconds
    """Wall-clock time of the whole run. Enforced by the runner with SIGKILL, not here."""

    cpu_seconds: int = _ACTION.cpu_seconds
    """CPU seconds (RLIMIT_CPU): SIGXCPU at this many, SIGKILL one second later."""

    memory_bytes: int = _ACTION.memory_bytes
    """Address space of the worker (RLIMIT_AS) and its cgroup memory limit where available.

    The worker is a fork of a warm parent, so this counts the parent's mappings too: it must
    be larger than the parent's virtual size plus what a run needs.
    """

    max_open_files: int = _ACTION.max_open_files
    """Highest file descriptor number plus one the worker may create (RLIMIT_NOFILE)."""

    max_processes: int = 1
    """Tasks in the worker's cgroup (pids.max), and RLIMIT_NPROC of its unprivileged uid.

    1 means the worker itself and nothing else: no child process, no thread. RLIMIT_NPROC
    counts every process of the uid on the host, so above 1 it is a loose bound when workers
    share a uid; the cgroup limit is the exact one.
    """

    max_output_bytes: int = _ACTION.max_output_bytes
    """Bytes of result and logs a run may send back. Checked by the runner; carried here."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"WorkerLimits.{field.name} must be positive")

    def with_wall_seconds(self, seconds: float) -> WorkerLimits:
        """A copy with another wall-clock limit."""
        return dataclasses.replace(self, wall_seconds=seconds)

    def with_cpu_seconds(self, seconds: int) -> WorkerLimits:
        """A copy with another CPU-time limit."""
        return dataclasses.replace(self, cpu_seconds=seconds)

    def with_memory_bytes(self, size: int) -> WorkerLimits:
        """A copy with another memory limit."""
        return dataclasses.replace(self, memory_bytes=size)

    def with_max_open_files(self, count: int) -> WorkerLimits:
        """A copy with another open-file limit."""
        return dataclasses.replace(self, max_open_files=count)

    def with_max_processes(self, count: int) -> WorkerLimits:
        """A copy with another process limit."""
        return dataclasses.replace(self, max_processes=count)

    def with_max_output_bytes(self, size: int) -> WorkerLimits:
        """A copy with another output limit."""
        return dataclasses.replace(self, max_output_bytes=size)


def rlimits(limits: WorkerLimits) -> list[tuple[int, int, int]]:
    """The ``(resource, soft, hard)`` triples that enforce ``limits`` in the kernel.

    Besides the limits the dataclass names: no file may grow (RLIMIT_FSIZE 0; CPython ignores
    SIGXFSZ, so a write fails with EFBIG), no core dump, no locked memory, no POSIX message
    queue. The hard CPU limit is one second above the soft one, so a process that catches
    SIGXCPU is killed anyway.
    """
    cpu = limits.cpu_seconds
    return [
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_MEMLOCK, 0, 0),
        (resource.RLIMIT_MSGQUEUE, 0, 0),
        (resource.RLIMIT_NOFILE, limits.max_open_files, limits.max_open_files),
        (resource.RLIMIT_NPROC, limits.max_processes, limits.max_processes),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
    ]


def apply_rlimits(limits: WorkerLimits) -> None:
    """Set every rlimit of ``rlimits(limits)`` on the calling process.

    Raises:
        OSError: a limit could not be set (for example above an inherited hard limit).
        ValueError: the same, as the ``resource`` module reports it.
    """
    for kind, soft, hard in rlimits(limits):
        resource.setrlimit(kind, (soft, hard))
