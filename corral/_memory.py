"""Keeping the memory of ``serve`` and the runner bounded after large responses.

CPython frees a large buffer to the C allocator, and glibc's allocator keeps freed heap pages
for reuse. Worse, it raises its mmap threshold (up to 32 MiB) each time a large mapped block is
freed, so later buffers of tens of MB come from the heap and stay in RSS after they are freed:
issue 10 measured a runner keeping 400 MB after a burst of large responses.

:func:`bound_heap`, called once at the start of ``serve``, of a runner and of an offline run,
fixes the threshold at :data:`MMAP_THRESHOLD`: every buffer at least that large is its own
mapping, returned to the system the moment it is freed. It also caps the heap arenas at
:data:`ARENAS`: glibc gives each thread that allocates an arena of its own (up to eight per
core), reserves 64 MiB of address space for each and never gives it back. A process that has
run many threads (gRPC's, a thread pool's) then has about a gigabyte of address space, and a warm
parent forked from it passes that to every worker, whose ``RLIMIT_AS`` (the run's
``memory_bytes``, 1 GiB for an action) counts it: such a worker fails its first allocations.

:func:`release_after` returns the free pages of every heap
arena (``malloc_trim(0)``) after a large response has passed through, for the many small
blocks gRPC reads a message into. On a C library other than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

MMAP_THRESHOLD = 1 << 20
"""Buffers at least this large are mapped on their own and unmapped when freed."""

LARGE = 4 << 20
"""A response at least this large is followed by a trim (a trim walks every arena: a few
milliseconds, not worth it for small ones)."""

ARENAS = 2
"""Heap arenas at most (threads share them): the address space stays that of a few threads."""

_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number of the mmap threshold (malloc.h)."""
_M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter number of the most arenas (malloc.h)."""


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``malloc_trim`` and ``mallopt``), else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not (hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt")):
        return None
    return libc


def bound_heap() -> bool:
    """Fixes the allocator's mmap threshold at :data:`MMAP_THRESHOLD` and its arenas at
    :data:`ARENAS` (once, at start: arenas made before stay).

    Returns:
        Whether both were set (glibc only).
    """
    libc = _glibc()
    if libc is None:
        return False
    threshold = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return bool(libc.mallopt(_M_ARENA_MAX, ARENAS)) and threshold


def freeze_heap() -> None:
    """Leaves every object alive now out of the garbage collector's passes (``gc.freeze``).

    Called once by a process that runs on its own (``corral serve``, a runner host, a worker),
    when it has started: its start-up objects (modules, classes, the servers) live as long as
    the process, and a full collection walked all of them each time, some tens of milliseconds
    during a large sync. Never in a process that hosts others' objects (a test process): what
    it freezes is never collected.
    """
    gc.freeze()


def release_after(size: int) -> bool:
    """Returns freed heap pages to the system after a response of ``size`` bytes was freed.

    Returns:
        Whether a trim was made (the response was large and the C library is glibc).
    """
    libc = _glibc()
    if size < LARGE or libc is None:
        return False
    libc.malloc_trim(0)
    return True
