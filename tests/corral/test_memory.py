"""Giving memory back after large responses (``corral._memory``), in a real child process."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

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


_THREADS_THEN_A_RUN = """
import sys, threading
from corral import _memory
from runner import Job, RunnerHost, make_containment, warm

if sys.argv[1] == "bounded":
    assert _memory.bound_heap()
done = threading.Event()

def allocate():
    kept = [bytearray(1000) for _ in range(1000)]
    done.wait()
    del kept

threads = [threading.Thread(target=allocate) for _ in range(40)]
for t in threads:
    t.start()
done.set()
for t in threads:
    t.join()
size = next(l for l in open("/proc/self/status") if l.startswith("VmSize:")).split()[1]
contain, _ = make_containment(strict=False)
host = RunnerHost(contain, warm, prewarm=0)
source = "from nango import create_action\\ndef run(nango, input):\\n" \\
    "    return len(bytearray(50_000_000))\\n" \\
    "action = create_action(description='big', exec=run)\\n"
outcome = host.execute(Job("r", "action", "a", "a.py", {"a.py": source}), None)
host.close()
print(int(size) * 1024, outcome.ok, (outcome.error or {}).get("type", ""))
"""


def test_a_warm_parent_forked_after_many_threads_leaves_its_workers_their_memory() -> None:
    # A process whose threads each got a heap arena has a gigabyte of address space; a worker
    # forked from it (RLIMIT_AS = the action's 1 GiB) failed its first allocations. With the
    # arenas bounded the address space stays small and the run gets its memory.
    done = subprocess.run(
        [sys.executable, "-c", _THREADS_THEN_A_RUN, "bounded"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    size, ok, error = done.stdout.split() + [""] * (3 - len(done.stdout.split()))
    assert int(size) < 512 << 20, done.stdout
    assert ok == "True", (done.stdout, done.stderr[-2000:])
    assert error == ""


def test_a_frozen_heap_is_left_out_of_collections_and_what_comes_after_is_not() -> None:
    # In a fresh interpreter: what a process freezes is never collected.
    script = textwrap.dedent(
        """
        import gc
        from corral import _memory

        class Node:
            pass

        def cycle():
            node = Node()
            node.me = node
            return node

        kept = cycle()
        _memory.freeze_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 1000, frozen  # the interpreter's and corral's start-up objects
        del kept
        cycle()  # garbage made after the freeze
        found = gc.collect()
        assert found >= 1, found  # the new cycle, not the frozen one
        assert gc.get_freeze_count() == frozen
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_corral_serve_freezes_its_heap_once_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    import orchestrator  # noqa: PLC0415 - the command imports it when it runs
    from corral.cli import _main  # noqa: PLC0415

    seen: list[dict[str, object]] = []
    monkeypatch.setattr(orchestrator, "serve", lambda settings, **kwargs: seen.append(kwargs))
    monkeypatch.setattr(_main, "exit_past_stray_threads", lambda code: None)

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(_main.cli, ["serve"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert seen == [{"own_process": True}]


def test_corral_runner_freezes_its_heap_once_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    import runner  # noqa: PLC0415 - the command imports it when it runs
    from corral.cli import _runner_command  # noqa: PLC0415

    seen: list[dict[str, object]] = []
    monkeypatch.setattr(runner, "run_runner", lambda *args, **kwargs: seen.append(kwargs))
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(
        _runner_command.runner, ["--callbacks", "127.0.0.1:9"], catch_exceptions=False
    )

    assert result.exit_code == 0, result.output
    assert seen == [{"own_process": True}]
