"""Giving memory back after large responses (``corral._memory``), in a real child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from corral import _memory


def test_small_responses_are_not_followed_by_a_trim() -> None:
    assert _memory.release_after(_memory.LARGE - 1) is False


def test_a_freed_large_buffer_leaves_the_process() -> None:
    # In a fresh interpreter, so that this test process's own heap does not blur the numbers.
    script = textwrap.dedent(
        """
        import pathlib
        from corral import _memory

        def rss():
            for line in pathlib.Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024

        assert _memory.bound_heap()
        before = rss()
        kept = []
        for _ in range(4):
            # Without a fixed threshold glibc raises it to 24 MiB at the first free, and the
            # next buffers come from the heap, pinned there by the small block after them.
            data = bytearray(24 << 20)
            data[:] = b"x" * (24 << 20)
            kept.append(bytes(1000))
            del data
        assert _memory.release_after(24 << 20)
        print(rss() - before)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert int(done.stdout) < 16 << 20, done.stdout
