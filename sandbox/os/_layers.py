"""The layers of ``contain_worker``, applied one by one in a worker, in a safe order."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

from corral._process import die_with_parent
from sandbox.os import _cgroups, _landlock, _namespaces, _seccomp
from sandbox.os._libc import PR_SET_DUMPABLE, clearenv, prctl, zero_memory
from sandbox.os._limits import WorkerLimits, apply_rlimits
from sandbox.os._prepare import (
    ALL_LAYERS,
    WORKER_ENVIRONMENT,
    ContainmentError,
    ContainmentSettings,
    PreparedContainment,
    reason,
)

_STDIO: Final = (0, 1, 2)
_T = TypeVar("_T")


class _Unavailable(Exception):
    """A layer that cannot apply for a reason found before the worker was forked."""


@dataclass
class Outcome:
    """What ``apply_layers`` did: the layers applied and why the others were not."""

    applied: set[str] = field(default_factory=set)
    missing: dict[str, str] = field(default_factory=dict)


@dataclass
class _Worker:
    settings: ContainmentSettings
    limits: WorkerLimits
    keep_fds: frozenset[int]
    cgroup_name: str
    prepared: PreparedContainment
    outcome: Outcome = field(default_factory=Outcome)
    devnull: int | str = "not opened"

    def wants(self, layer: str) -> bool:
        return layer in self.settings.layers

    def attempt(self, layer: str, action: Callable[[], None]) -> None:
        """Apply one layer if it was asked for, recording success or the reason it failed."""
        if not self.wants(layer):
            return
        try:
            action()
        except (OSError, ValueError, _Unavailable) as exc:
            self.fail(layer, reason(exc))
        else:
            self.outcome.applied.add(layer)

    def fail(self, layer: str, why: str) -> None:
        self.outcome.missing[layer] = why
        if self.settings.strict:
            details = {"layer": layer, "reason": why}
            message = f"containment layer {layer!r} unavailable: {why}"
            raise ContainmentError(message, details=details)


def apply_layers(
    settings: ContainmentSettings,
    limits: WorkerLimits,
    keep_fds: Sequence[int],
    cgroup_name: str,
    prepared: PreparedContainment,
) -> Outcome:
    """Apply every requested layer to the calling process; see ``sandbox.os._contain``.

    Raises:
        ContainmentError: in strict mode, at the first requested layer that fails.
    """
    worker = _Worker(settings, limits, frozenset(keep_fds), cgroup_name, prepared)
    for layer in sorted(settings.layers - ALL_LAYERS):
        worker.fail(layer, "unknown layer")
    worker.attempt("setsid", _namespaces.new_session)
    worker.attempt("env", lambda: _scrub_environment(prepared))
    if worker.wants("fds"):
        _open_devnull(worker)
    worker.attempt("cgroup", lambda: _join_cgroup(worker))
    _enter_namespaces(worker)
    worker.attempt("fds", lambda: _close_fds(worker))
    worker.attempt("cwd", lambda: _empty_cwd(worker))
    worker.attempt("rlimits", lambda: apply_rlimits(limits))
    worker.attempt("uid", lambda: _drop_identity(settings))
    worker.attempt("no_new_privs", _seccomp.set_no_new_privs)
    worker.attempt("landlock", lambda: _landlock.restrict_self(_ready(prepared.landlock)))
    worker.attempt("seccomp", lambda: _seccomp.install(_ready(prepared.seccomp), os.getpid()))
    return worker.outcome


def _ready(prepared: _T | str) -> _T:
    if isinstance(prepared, str):
        raise _Unavailable(prepared)
    return prepared


def _scrub_environment(prepared: PreparedContainment) -> None:
    """Replace the environment, in Python and in libc, and zero the block inherited at exec."""
    clearenv()
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict):  # CPython: libc's copy is gone already, skip 1 unsetenv per name
        data.clear()
    else:
        os.environ.clear()
    os.environ.update(WORKER_ENVIRONMENT)
    if prepared.environment_block is not None:
        start, end = prepared.environment_block
        zero_memory(start, end - start)


def _join_cgroup(worker: _Worker) -> None:
    _cgroups.join(_ready(worker.prepared.cgroups), worker.cgroup_name, worker.limits)


def _enter_namespaces(worker: _Worker) -> None:
    wanted = [layer for layer in _namespaces.NAMESPACE_FLAGS if worker.wants(layer)]
    failed = _namespaces.unshare_namespaces(wanted)
    finish = {"utsns": _namespaces.name_host, "mountns": _namespaces.enter_empty_root}
    for layer in wanted:
        if layer in failed:
            worker.fail(layer, reason(failed[layer]))
        else:
            worker.attempt(layer, finish.get(layer, _nothing))


def _nothing() -> None:
    """The namespace needs no set-up beyond ``unshare``."""


def _open_devnull(worker: _Worker) -> None:
    """Open /dev/null now: after the mount namespace there is no /dev to open it from."""
    try:
        worker.devnull = os.open(os.devnull, os.O_RDWR)
    except OSError as exc:
        worker.devnull = reason(exc)


def _close_fds(worker: _Worker) -> None:
    """Point stdio that is not kept at /dev/null, and close every descriptor not kept."""
    devnull = _ready(worker.devnull)
    for fd in _STDIO:
        if fd not in worker.keep_fds:
            os.dup2(devnull, fd)
    low = 0
    for fd in sorted(worker.keep_fds | frozenset(_STDIO)):
        if fd > low:  # os.closerange(n, n) would close everything: close_range(n, n - 1)
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 30)


def _empty_cwd(worker: _Worker) -> None:
    if "mountns" in worker.outcome.applied:
        os.chdir("/")
    else:
        _namespaces.enter_deleted_directory()


def _drop_identity(settings: ContainmentSettings) -> None:
    """Become the unprivileged uid and gid with no supplementary group, and non-dumpable.

    Changing the uid clears the parent-death signal the worker asked for when it was forked
    (the kernel does so on every credential change), so it is asked for again here, before
    seccomp forbids ``prctl``: a worker still dies with its warm parent. If the parent died in
    between, the worker has been re-parented already and exits at once.
    """
    gid, uid = settings.unprivileged_gid, settings.unprivileged_uid
    parent = os.getppid()
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    prctl(PR_SET_DUMPABLE, 0)
    die_with_parent(parent)
