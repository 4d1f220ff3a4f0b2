"""A Landlock domain that grants nothing: no file, no TCP port, no signal or socket outside.

The ruleset handles every access right the running kernel knows and adds no rule, so each
handled access is denied. What that covers grows with the Landlock ABI version:

======  ======  ==========================================================================
ABI     Linux   denied from then on
======  ======  ==========================================================================
1       5.13    executing, reading, writing files; listing directories; creating anything
2       5.19    linking or renaming across directories (REFER)
3       6.2     truncating files
4       6.7     binding and connecting TCP sockets
5       6.10    ioctl on devices
6       6.12    signalling processes and reaching abstract unix sockets outside the domain
======  ======  ==========================================================================

Files opened before the domain starts (the worker's socket, /dev/null) keep working.
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass
from typing import Final

from sandbox.os._libc import raw_syscall

_CREATE_RULESET_VERSION: Final = 1
_FS_BY_ABI: Final = {1: (1 << 13) - 1, 2: 1 << 13, 3: 1 << 14, 5: 1 << 15}
_NET_TCP: Final = 0b11  # LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP
_SCOPES: Final = 0b11  # LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL


@dataclass(frozen=True)
class LandlockRuleset:
    """The ``landlock_ruleset_attr`` to enforce, sized for the kernel's ABI."""

    abi: int
    """The Landlock ABI version of the running kernel (1 or more)."""

    attr: bytes
    """``struct landlock_ruleset_attr``, truncated to the fields this ABI knows."""

    def covers(self) -> frozenset[str]:
        """What the domain denies on this kernel: "fs", and "net" and "scope" when known."""
        parts = {"fs"} | ({"net"} if self.abi >= 4 else set())
        return frozenset(parts | ({"scope"} if self.abi >= 6 else set()))


def abi_version() -> int:
    """The kernel's Landlock ABI version.

    Raises:
        OSError: the kernel has no Landlock (ENOSYS) or it is not enabled at boot (EOPNOTSUPP);
            the message says which.
    """
    try:
        return raw_syscall("landlock_create_ruleset", None, 0, _CREATE_RULESET_VERSION)
    except OSError as exc:
        if exc.errno == errno.EOPNOTSUPP:
            raise OSError(exc.errno, "Landlock is built in but not enabled (boot lsm=)") from exc
        if exc.errno == errno.ENOSYS:
            raise OSError(exc.errno, "kernel without Landlock (needs Linux 5.13+)") from exc
        raise


def ruleset_for(abi: int) -> LandlockRuleset:
    """The deny-everything ruleset for Landlock ABI version ``abi``."""
    handled_fs = 0
    for since, bits in _FS_BY_ABI.items():
        if abi >= since:
            handled_fs |= bits
    fields = [handled_fs]
    if abi >= 4:
        fields.append(_NET_TCP)
    if abi >= 6:
        fields.append(_SCOPES)
    return LandlockRuleset(abi=abi, attr=struct.pack(f"={len(fields)}Q", *fields))


def restrict_self(ruleset: LandlockRuleset) -> None:
    """Enter a Landlock domain built from ``ruleset``. Irreversible; inherited by children.

    Needs no_new_privs (or CAP_SYS_ADMIN).

    Raises:
        OSError: the kernel refused the ruleset or the restriction.
    """
    fd = raw_syscall("landlock_create_ruleset", ruleset.attr, len(ruleset.attr), 0)
    try:
        raw_syscall("landlock_restrict_self", fd, 0)
    finally:
        os.close(fd)
