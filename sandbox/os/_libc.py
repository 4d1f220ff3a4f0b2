"""Thin ctypes access to the Linux system calls that worker containment needs.

Nothing here decides policy; the layer modules (``_namespaces``, ``_landlock``, ``_seccomp``,
``_cgroups``) do. Every wrapper raises ``OSError`` with the kernel's errno, so a layer that
fails can report the reason the kernel gave.
"""

from __future__ import annotations

import ctypes
import os
from typing import Final

_LIBC: Final = ctypes.CDLL(None, use_errno=True)
# Resolved once at import, in the warm parent: looking a symbol up in a fresh worker costs
# about 0.1 ms each.
_syscall: Final = _LIBC.syscall
_prctl: Final = _LIBC.prctl
_unshare: Final = _LIBC.unshare
_mount: Final = _LIBC.mount
_umount2: Final = _LIBC.umount2
_sethostname: Final = _LIBC.sethostname
_clearenv: Final = _LIBC.clearenv

ARCH: Final[str] = os.uname().machine
"""The machine this process runs on, as ``uname -m`` spells it."""

_SYSCALL_NUMBERS: Final[dict[str, dict[str, int]]] = {
    # Numbers the C library has no wrapper for (glibc 2.36 has none for these).
    "x86_64": {
        "pivot_root": 155,
        "landlock_create_ruleset": 444,
        "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
    "aarch64": {
        "pivot_root": 41,
        "landlock_create_ruleset": 444,
        "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
}

PR_SET_DUMPABLE: Final = 4
PR_SET_SECCOMP: Final = 22
PR_SET_NO_NEW_PRIVS: Final = 38
SECCOMP_MODE_FILTER: Final = 2

CLONE_NEWNS: Final = 0x00020000
CLONE_NEWUTS: Final = 0x04000000
CLONE_NEWIPC: Final = 0x08000000
CLONE_NEWNET: Final = 0x40000000

MS_RDONLY: Final = 0x1
MS_NOSUID: Final = 0x2
MS_NODEV: Final = 0x4
MS_NOEXEC: Final = 0x8
MS_REC: Final = 0x4000
MS_PRIVATE: Final = 0x40000
MNT_DETACH: Final = 0x2


def _check(result: int, what: str) -> int:
    """Raise ``OSError`` from ``errno`` when a C call returned -1."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def syscall_number(name: str) -> int:
    """The number of a system call without a libc wrapper on this machine.

    Raises:
        OSError: ENOSYS when the architecture is not one corral knows.
    """
    try:
        return _SYSCALL_NUMBERS[ARCH][name]
    except KeyError:
        raise OSError(38, f"{name}: no syscall number known for {ARCH}") from None


def _word(value: int | bytes | None) -> object:
    """A variadic C argument: integers widened to a machine word, buffers as they are."""
    return ctypes.c_long(value) if isinstance(value, int) else value


def raw_syscall(name: str, *args: int | bytes | None) -> int:
    """Call a system call by name through ``syscall(2)``; return its non-negative result."""
    words = [_word(arg) for arg in args]
    return int(_check(_syscall(ctypes.c_long(syscall_number(name)), *words), name))


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    """``prctl(2)`` with up to two arguments (integers or addresses)."""
    args = (ctypes.c_ulong(arg) for arg in (arg2, arg3, 0, 0))
    _check(_prctl(ctypes.c_int(option), *args), f"prctl({option})")


def unshare(flags: int) -> None:
    """``unshare(2)``."""
    _check(_unshare(flags), f"unshare({flags:#x})")


def mount(
    source: bytes, target: bytes, fstype: bytes | None, flags: int, data: bytes | None
) -> None:
    """``mount(2)``."""
    _check(_mount(source, target, fstype, ctypes.c_ulong(flags), data), f"mount {target!r}")


def umount2(target: bytes, flags: int) -> None:
    """``umount2(2)``."""
    _check(_umount2(target, flags), f"umount2 {target!r}")


def sethostname(name: bytes) -> None:
    """``sethostname(2)``."""
    _check(_sethostname(name, len(name)), "sethostname")


def clearenv() -> None:
    """``clearenv(3)``: drop the C library's environment array."""
    _check(_clearenv(), "clearenv")


def zero_memory(address: int, size: int) -> None:
    """Overwrite ``size`` bytes of this process's memory at ``address`` with zeros."""
    ctypes.memset(address, 0, size)
