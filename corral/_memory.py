"""Keeping the memory of ``serve`` and the runner bounded after large responses.

CPython frees a large buffer to the C allocator, and glibc's allocator keeps freed heap pages
for reuse. Worse, it raises its mmap threshold (up to 32 MiB) each time a large mapped block is
freed, so later buffers of tens of MB come from the heap and stay in RSS after they are freed:
issue 10 measured a runner keeping 400 MB after a burst of large responses.

:func:`bound_heap`, called once at the start of ``serve`` and of a runner, fixes the threshold
at :data:`MMAP_THRESHOLD`: every buffer at least that large is its own mapping, returned to
the system the moment it is freed. :func:`release_after` returns the free pages of every heap
arena (``malloc_trim(0)``) after a large response has passed through, for the many small
blocks gRPC reads a message into. On a C library other than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

MMAP_THRESHOLD = 1 << 20
"""Buffers at least this large are mapped on their own and unmapped when freed."""

LARGE = 4 << 20
"""A response at least this large is followed by a trim (a trim walks every arena: a few
milliseconds, not worth it for small ones)."""

_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number of the mmap threshold (malloc.h)."""


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
    """Fixes the allocator's mmap threshold at :data:`MMAP_THRESHOLD` (once, at start).

    Returns:
        Whether it was set (glibc only).
    """
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


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
