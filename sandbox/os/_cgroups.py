"""One memory+pids cgroup per worker, on cgroup v1 or v2, whichever the host has.

Worker cgroups live in a ``corral`` directory below the cgroup of the process that prepares
containment (the warm parent), so any limit the host puts on the runner still applies to its
workers. The runner and the warm parent must therefore share a cgroup (the default when the
runner starts the parent), because the runner finds the worker's cgroup again to remove it.

On cgroup v2 the ``corral`` directory needs the memory and pids controllers delegated; the
kernel refuses that while the runner's own cgroup holds processes (the "no internal
processes" rule) unless it is the root, so there the runner belongs in a leaf of a delegated
subtree.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sandbox.os._limits import WorkerLimits

PARENT_NAME: Final = "corral"
"""Directory below the runner's own cgroup that holds the worker cgroups."""

_V1_CONTROLLERS: Final = ("memory", "pids")
_RMDIR_ATTEMPTS: Final = 200


@dataclass(frozen=True)
class CgroupLayout:
    """Where worker cgroups go on this host."""

    version: int
    """1 (one hierarchy per controller) or 2 (the unified hierarchy)."""

    parents: Mapping[str, str]
    """Hierarchy name ("memory", "pids", or "unified") to the directory holding worker cgroups."""


def _own_paths() -> dict[str, str]:
    """Controller list (v1) or "" (v2) to this process's cgroup path, from /proc/self/cgroup."""
    with open("/proc/self/cgroup", encoding="ascii") as source:
        lines = source.read().splitlines()
    paths: dict[str, str] = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        paths[controllers] = path
    return paths


def locate(root: str) -> CgroupLayout:
    """Find where worker cgroups go below the cgroup filesystem mounted at ``root``.

    Raises:
        OSError: neither a v2 hierarchy at ``root`` nor v1 memory and pids hierarchies below it.
    """
    own = _own_paths()
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        base = root + own.get("", "/").rstrip("/")
        return CgroupLayout(2, {"unified": f"{base}/{PARENT_NAME}"})
    parents: dict[str, str] = {}
    for controller in _V1_CONTROLLERS:
        hierarchy = next((c for c in own if controller in c.split(",")), None)
        mounted = hierarchy is not None and os.path.isdir(os.path.join(root, hierarchy))
        if hierarchy is None or not mounted:
            raise OSError(errno.ENOENT, f"no cgroup v2 at {root} and no v1 {controller} hierarchy")
        base = os.path.join(root, hierarchy) + own[hierarchy].rstrip("/")
        parents[controller] = f"{base}/{PARENT_NAME}"
    return CgroupLayout(1, parents)


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode("ascii"))
    finally:
        os.close(fd)


def _limit_files(
    layout: CgroupLayout, hierarchy: str, limits: WorkerLimits
) -> list[tuple[str, str]]:
    memory, pids = str(limits.memory_bytes), str(limits.max_processes)
    if layout.version == 2:
        return [("memory.max", memory), ("memory.swap.max", "0"), ("pids.max", pids)]
    if hierarchy == "memory":
        return [("memory.limit_in_bytes", memory), ("memory.memsw.limit_in_bytes", memory)]
    return [("pids.max", pids)]


def _make_parent(layout: CgroupLayout, parent: str) -> None:
    """Create the ``corral`` directory; on v2 also delegate memory and pids to its children."""
    if layout.version == 1:
        os.makedirs(parent, exist_ok=True)
        return
    for directory in (os.path.dirname(parent), parent):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "cgroup.subtree_control"), encoding="ascii") as control:
            enabled = control.read().split()
        if "memory" not in enabled or "pids" not in enabled:
            _write(os.path.join(directory, "cgroup.subtree_control"), "+memory +pids")


def _make_leaf(layout: CgroupLayout, parent: str, name: str) -> str:
    leaf = os.path.join(parent, name)
    try:
        os.mkdir(leaf)
    except FileNotFoundError:
        _make_parent(layout, parent)
        os.mkdir(leaf)
    except FileExistsError:
        pass
    return leaf


def join(layout: CgroupLayout, name: str, limits: WorkerLimits) -> None:
    """Create the worker cgroup ``name``, set its limits, and move the calling process in.

    Raises:
        OSError: a cgroup could not be made, limited or joined (memsw and swap files that the
            host does not have are skipped).
    """
    pid = str(os.getpid())
    for hierarchy, parent in layout.parents.items():
        leaf = _make_leaf(layout, parent, name)
        for filename, value in _limit_files(layout, hierarchy, limits):
            try:
                _write(os.path.join(leaf, filename), value)
            except FileNotFoundError:
                if "swap" not in filename and "memsw" not in filename:
                    raise
        _write(os.path.join(leaf, "cgroup.procs"), pid)


def _kill_members(leaf: str) -> None:
    try:
        with open(os.path.join(leaf, "cgroup.procs"), encoding="ascii") as procs:
            members = [int(line) for line in procs.read().split()]
    except FileNotFoundError:
        return
    for member in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def remove(layout: CgroupLayout, name: str) -> None:
    """Kill whatever is left in the worker cgroup ``name`` and remove it. Missing is fine.

    Raises:
        OSError: the cgroup stayed busy for about a second after its processes were killed.
    """
    for parent in layout.parents.values():
        leaf = os.path.join(parent, name)
        for attempt in range(_RMDIR_ATTEMPTS):
            try:
                os.rmdir(leaf)
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if exc.errno != errno.EBUSY or attempt == _RMDIR_ATTEMPTS - 1:
                    raise
                _kill_members(leaf)
                time.sleep(0.005)


def remove_parents(layout: CgroupLayout) -> None:
    """Remove the ``corral`` directories when no worker cgroup is left in them."""
    for parent in layout.parents.values():
        try:
            os.rmdir(parent)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EBUSY, errno.ENOTEMPTY):
                raise
