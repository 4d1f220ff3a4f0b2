"""Process and kernel containment of a worker: the layers below RestrictedPython.

A worker is forked from a warm parent for one run. Before any customer code runs, it calls
``contain_worker``, which applies these layers in this order (each one only when asked for in
``ContainmentSettings.layers``):

1. ``setsid``: a new session, so no terminal and no process group shared with the runner.
2. ``env``: the environment replaced by ``WORKER_ENVIRONMENT``, and the block the parent was
   started with zeroed in memory.
3. ``cgroup``: a new memory+pids cgroup with the run's limits.
4. ``netns``, ``ipcns``, ``utsns``, ``mountns``: new namespaces; no network interface, no
   shared IPC, a fixed host name, and an empty read-only tmpfs as the root.
5. ``fds``: stdin, stdout and stderr on /dev/null; every descriptor not kept closed.
6. ``cwd``: an empty working directory (the tmpfs root, or a deleted directory).
7. ``rlimits``: address space, CPU, files, processes, no file growth, no core.
8. ``uid``: supplementary groups dropped, gid and uid set to the unprivileged ones, and the
   process made non-dumpable (its /proc files then belong to root).
9. ``no_new_privs``: execve can never add privileges again.
10. ``landlock``: no file access, no TCP, no signals or abstract sockets outside.
11. ``seccomp``: the system call allow-list of ``sandbox.os._seccomp``.

Call ``prepare(settings)`` once in the warm parent before forking: it compiles the seccomp
program, sizes the Landlock ruleset for the kernel and finds the cgroup hierarchy, so that a
worker only applies them.

What the warm parent must do for containment to hold and the worker to keep working:

* hold no secret and no other tenant's data: a fork copies all of its memory;
* import, and use once, everything customer code may need (modules, pydantic model
  building, hashlib algorithms, ``datetime.strptime``...): after the ``mountns``,
  ``landlock`` and ``seccomp`` layers no file can be opened, so nothing can be imported;
* hold no thread, and no descriptor except stdio and the worker's socket.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sandbox.os import _cgroups
from sandbox.os._layers import apply_layers
from sandbox.os._limits import WorkerLimits
from sandbox.os._prepare import (
    ALL_LAYERS,
    WORKER_ENVIRONMENT,
    ContainmentError,
    ContainmentSettings,
    HostSupport,
    PreparedContainment,
    prepare,
)
from sandbox.os._probe import probe

__all__ = [
    "ALL_LAYERS",
    "WORKER_ENVIRONMENT",
    "ContainmentError",
    "ContainmentSettings",
    "HostSupport",
    "PreparedContainment",
    "cleanup_cgroup",
    "contain_worker",
    "default_cgroup_name",
    "prepare",
    "probe",
]


def default_cgroup_name(pid: int) -> str:
    """The cgroup name ``contain_worker`` uses for worker ``pid`` when given none."""
    return f"worker-{pid}"


def contain_worker(
    settings: ContainmentSettings,
    limits: WorkerLimits,
    keep_fds: Sequence[int],
    cgroup_name: str | None = None,
) -> frozenset[str]:
    """Contain the calling process, a freshly forked worker, before it runs customer code.

    Applies the requested layers in the order of the module docstring. Irreversible: call it
    only in a worker, never in the runner or the warm parent.

    Args:
        settings: which layers to apply and how strictly.
        limits: the run's limits, for rlimits and the cgroup.
        keep_fds: descriptors to keep open (the worker's socket; 0, 1 or 2 to keep a stdio
            descriptor as it is rather than on /dev/null). Every other one is closed.
        cgroup_name: the worker's cgroup; ``default_cgroup_name(os.getpid())`` when None.
            The runner passes the same name to ``cleanup_cgroup`` once the worker is dead.

    Returns:
        The layers applied. Without ``settings.strict`` a layer the host lacks is left out.

    Raises:
        ContainmentError: in strict mode, when a requested layer could not be applied. The
            worker must then exit without running anything.
    """
    name = cgroup_name if cgroup_name is not None else default_cgroup_name(os.getpid())
    outcome = apply_layers(settings, limits, keep_fds, name, prepare(settings))
    return frozenset(outcome.applied)


def cleanup_cgroup(settings: ContainmentSettings, cgroup_name: str) -> None:
    """Remove a dead worker's cgroup, killing anything still in it. Call from the runner.

    Does nothing when the host has no usable cgroup hierarchy or the cgroup is gone.

    Raises:
        OSError: the cgroup stayed busy.
    """
    layout = prepare(settings).cgroups
    if not isinstance(layout, str):
        _cgroups.remove(layout, cgroup_name)
