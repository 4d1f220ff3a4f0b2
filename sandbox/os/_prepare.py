"""Settings, host facts and precomputation shared by the containment modules."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeVar

from corral.errors import CorralError
from sandbox.os import _cgroups, _landlock, _seccomp
from sandbox.os._libc import ARCH

_T = TypeVar("_T")

ALL_LAYERS: Final = frozenset(
    {
        *("setsid", "env", "cwd", "fds", "rlimits", "no_new_privs", "uid", "cgroup"),
        *("netns", "mountns", "ipcns", "utsns", "landlock", "seccomp"),
    }
)
"""Every containment layer corral knows."""

WORKER_ENVIRONMENT: Final[Mapping[str, str]] = MappingProxyType(
    {"HOME": "/", "LANG": "C.UTF-8", "PATH": "/nonexistent", "TZ": "UTC0"}
)
"""The whole environment of a contained worker. TZ is a rule, so no zone file is read."""


class ContainmentError(CorralError):
    """A containment layer that was required could not be applied.

    ``details`` holds ``layer`` and ``reason``. A worker that gets this error must exit
    without running anything: it is partly contained at best.
    """

    default_code = "containment_unavailable"


@dataclass(frozen=True)
class ContainmentSettings:
    """Which containment layers to apply to workers, and how strictly."""

    strict: bool = False
    """Raise ``ContainmentError`` when a requested layer fails, instead of skipping it."""

    unprivileged_uid: int = 65534
    """The uid a worker runs as (nobody)."""

    unprivileged_gid: int = 65534
    """The gid a worker runs as (nogroup)."""

    layers: frozenset[str] = ALL_LAYERS
    """The layers to attempt; names outside ``ALL_LAYERS`` always fail."""

    cgroup_root: str = "/sys/fs/cgroup"
    """Where the cgroup filesystem is mounted (v2), or the v1 hierarchies are."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", frozenset(self.layers))
        if self.unprivileged_uid < 0 or self.unprivileged_gid < 0:
            raise ValueError("unprivileged uid and gid must not be negative")

    def with_strict(self, strict: bool = True) -> ContainmentSettings:
        """A copy that does (or does not) refuse to run without every requested layer."""
        return dataclasses.replace(self, strict=strict)

    def with_layers(self, layers: Iterable[str]) -> ContainmentSettings:
        """A copy that attempts exactly ``layers``."""
        return dataclasses.replace(self, layers=frozenset(layers))

    def without_layers(self, *layers: str) -> ContainmentSettings:
        """A copy that does not attempt ``layers``."""
        return dataclasses.replace(self, layers=self.layers - frozenset(layers))

    def with_identity(self, uid: int, gid: int) -> ContainmentSettings:
        """A copy that runs workers as ``uid``:``gid``."""
        return dataclasses.replace(self, unprivileged_uid=uid, unprivileged_gid=gid)

    def with_cgroup_root(self, root: str) -> ContainmentSettings:
        """A copy that looks for cgroups below ``root``."""
        return dataclasses.replace(self, cgroup_root=root)


@dataclass(frozen=True)
class HostSupport:
    """Which layers this host can apply, as ``probe`` found out."""

    available: frozenset[str]
    """Layers that applied in the probe."""

    missing: Mapping[str, str] = field(default_factory=dict)
    """Layers that did not, each with the reason."""

    def to_dict(self) -> dict[str, object]:
        """JSON-able form, for logs and health endpoints."""
        return {"available": sorted(self.available), "missing": dict(sorted(self.missing.items()))}


@dataclass(frozen=True)
class PreparedContainment:
    """What a warm parent computes once so that each worker only applies it."""

    seccomp: _seccomp.SeccompProgram | str
    """The compiled filter, or why there is none."""

    landlock: _landlock.LandlockRuleset | str
    """The ruleset for this kernel's Landlock ABI, or why there is none."""

    cgroups: _cgroups.CgroupLayout | str
    """Where worker cgroups go, or why they cannot."""

    environment_block: tuple[int, int] | None
    """Start and end address of the environment the parent was started with, if known."""


@functools.lru_cache(maxsize=8)
def prepare(settings: ContainmentSettings) -> PreparedContainment:
    """Precompute the containment of workers; call in the warm parent before forking.

    The result is cached per settings, and a forked worker inherits the cache, so
    ``contain_worker`` finds it without recomputing. Changes nothing in the calling process.
    """
    return PreparedContainment(
        seccomp=_attempt_prepare(lambda: _seccomp.build_program(ARCH)),
        landlock=_attempt_prepare(lambda: _landlock.ruleset_for(_landlock.abi_version())),
        cgroups=_attempt_prepare(lambda: _cgroups.locate(settings.cgroup_root)),
        environment_block=_environment_block(),
    )


def _attempt_prepare(build: Callable[[], _T]) -> _T | str:
    try:
        return build()
    except KeyError as exc:
        return f"unsupported architecture {ARCH} ({exc})"
    except OSError as exc:
        return reason(exc)


def _environment_block() -> tuple[int, int] | None:
    """``env_start`` and ``env_end`` of /proc/self/stat (fields 50 and 51)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])
    except (OSError, IndexError, ValueError):
        return None
    return (start, end) if 0 < start < end else None


def reason(exc: BaseException) -> str:
    """A short human reason for a failed layer, from the exception that failed it."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror if exc.filename is None else f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__
