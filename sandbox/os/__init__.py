"""The OS layer: process and kernel containment of a worker, below RestrictedPython.

``contain_worker`` (``_contain``) applies the layers one by one (``_layers``): cgroups
(``_cgroups``), namespaces (``_namespaces``), rlimits (``_limits``), Landlock (``_landlock``)
and seccomp (``_seccomp``, with the system call numbers of ``_syscall_numbers``), through the
thin ctypes access of ``_libc``. ``prepare`` (``_prepare``) precomputes them in the warm parent,
and ``probe`` (``_probe``) finds which ones the host can apply.
"""

from sandbox.os._contain import (
    ALL_LAYERS,
    ContainmentError,
    ContainmentSettings,
    HostSupport,
    cleanup_cgroup,
    contain_worker,
    default_cgroup_name,
    prepare,
    probe,
)
from sandbox.os._limits import WorkerLimits, apply_rlimits

__all__ = [
    "ALL_LAYERS",
    "ContainmentError",
    "ContainmentSettings",
    "HostSupport",
    "WorkerLimits",
    "apply_rlimits",
    "cleanup_cgroup",
    "contain_worker",
    "default_cgroup_name",
    "prepare",
    "probe",
]
