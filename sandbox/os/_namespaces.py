"""Namespaces, session and working directory of a worker.

A worker leaves the host's network, IPC and UTS namespaces for new empty ones, and its mount
namespace for a private one whose root is an empty, read-only tmpfs: after that the host's
files are not merely forbidden (Landlock does that) but absent.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from typing import Final

from sandbox.os._libc import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWUTS,
    MNT_DETACH,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    mount,
    raw_syscall,
    sethostname,
    umount2,
    unshare,
)

NAMESPACE_FLAGS: Final[dict[str, int]] = {
    "netns": CLONE_NEWNET,
    "mountns": CLONE_NEWNS,
    "ipcns": CLONE_NEWIPC,
    "utsns": CLONE_NEWUTS,
}
"""The ``unshare(2)`` flag of each namespace layer."""

WORKER_HOSTNAME: Final = b"corral"
"""The host name a worker sees in its own UTS namespace."""

_EMPTY_ROOT_OPTIONS: Final = b"size=4k,nr_inodes=4,mode=0555"
_EMPTY_ROOT_FLAGS: Final = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC


def unshare_namespaces(layers: Iterable[str]) -> dict[str, OSError]:
    """Move the calling process into new namespaces, one per namespace layer in ``layers``.

    One ``unshare`` call when it succeeds; otherwise one call per namespace to find out which
    the host refuses.

    Returns:
        The layers that failed, with the kernel's error.
    """
    wanted = [layer for layer in layers if layer in NAMESPACE_FLAGS]
    if not wanted:
        return {}
    try:
        unshare(_flags(wanted))
    except OSError:
        return _unshare_one_by_one(wanted)
    return {}


def _flags(layers: Iterable[str]) -> int:
    flags = 0
    for layer in layers:
        flags |= NAMESPACE_FLAGS[layer]
    return flags


def _unshare_one_by_one(layers: list[str]) -> dict[str, OSError]:
    failed: dict[str, OSError] = {}
    for layer in layers:
        try:
            unshare(NAMESPACE_FLAGS[layer])
        except OSError as exc:
            failed[layer] = exc
    return failed


def name_host() -> None:
    """Give the (new) UTS namespace a fixed host name, so the host's is not visible."""
    sethostname(WORKER_HOSTNAME)


def enter_empty_root(mount_point: bytes = b"/tmp") -> None:
    """Make an empty read-only tmpfs the root and working directory of this mount namespace.

    Call only in a new mount namespace. Mount events stop propagating to the host first; the
    tmpfs is mounted on ``mount_point`` (any existing directory), becomes the root by
    ``pivot_root(".", ".")``, and the old root is detached, so nothing of the host's
    filesystem stays reachable by path. Descriptors opened before keep working.

    Raises:
        OSError: a mount step failed.
    """
    mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    mount(b"corral", mount_point, b"tmpfs", _EMPTY_ROOT_FLAGS, _EMPTY_ROOT_OPTIONS)
    os.chdir(mount_point)
    raw_syscall("pivot_root", b".", b".")
    umount2(b".", MNT_DETACH)
    os.chdir("/")


def enter_deleted_directory(parent: str = "/tmp") -> None:  # noqa: S108 - see below
    """Make the working directory a new, already deleted directory.

    The fallback when no mount namespace is available: a deleted directory is empty and no
    file can be created in it, and nothing is left behind to clean up. Made with a random
    name, mode 0o500, and removed at once, so the shared ``parent`` is safe to use.

    Raises:
        OSError: the directory could not be made or entered.
    """
    path = os.path.join(parent, f".corral-cwd-{os.getpid()}-{secrets.token_hex(4)}")
    os.mkdir(path, 0o500)
    try:
        os.chdir(path)
    finally:
        os.rmdir(path)


def new_session() -> None:
    """Start a new session and process group: no controlling terminal, no shared group."""
    os.setsid()
