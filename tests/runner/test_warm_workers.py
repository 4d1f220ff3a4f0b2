"""Warm workers: contained and touched before a run takes them, and never holding another
tenant's code (the warm parent compiles none; each worker sees only its own run's files)."""

from __future__ import annotations

import gc
import os
import re
import resource
import socket
import threading
import time
from collections.abc import Iterator
from types import CodeType
from typing import Any

import pytest

from runner import _protocol as protocol
from runner.host._host import Job, RunnerHost
from runner.host._pool import Worker
from runner.host._warm import warm
from tests.runner.by_method import ByMethod

REPORT = 77
"""A run with this many ``max_open_files`` is one whose worker reports what it holds."""


class _NoCalls(ByMethod):
    def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        return None


def _constants(code: CodeType) -> Iterator[str]:
    for const in code.co_consts:
        if isinstance(const, str):
            yield const
        elif isinstance(const, CodeType):
            yield from _constants(const)
        elif isinstance(const, tuple | frozenset):
            yield from (item for item in const if isinstance(item, str))


def _members(value: Any) -> Iterator[str]:
    """The strings a container holds: itself, or through containers the collector does not
    track (so not among the roots; they hold no cycle)."""
    if isinstance(value, dict):
        items: Any = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return
    for item in items:
        if isinstance(item, str):
            yield item
        elif isinstance(item, CodeType):
            yield from _constants(item)
        elif not gc.is_tracked(item):
            yield from _members(item)


def _held(pattern: str) -> list[str]:
    """Every string matching ``pattern`` this process reaches: in its objects, and in the
    sandbox's compile cache (code constants)."""
    from sandbox.language import _compile  # noqa: PLC0415

    regex = re.compile(pattern)
    found: set[str] = set()
    for root in gc.get_objects():
        found.update(m for s in _members(root) for m in regex.findall(s))
    for compiled in _compile._cache.values():
        if compiled.code is not None:
            found.update(m for s in _constants(compiled.code) for m in regex.findall(s))
    return sorted(found)


class _Reports:
    """Containment in name only: a worker whose run asks for it reports what it holds (as a
    breached worker could read it) instead of running the function."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def prepare_idle(self, sock: socket.socket) -> None:
        pass

    def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
        if limits.get("max_open_files") != REPORT:
            return
        from sandbox.language import _compile  # noqa: PLC0415

        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt  # before the scan's
        output = {
            "found": _held(self.pattern),
            "compiled": _compile.cache_info(),
            "faults": faults,
        }
        sock.sendall(protocol.encode({"op": "done", "ok": True, "output": output}))
        os._exit(0)

    def cleanup(self, pid: int) -> None:
        pass


def _job(source: str, **limits: Any) -> Job:
    return Job(
        run_id=f"w-{os.urandom(4).hex()}",
        kind="action",
        function_name="f",
        entry="f.py",
        files={"f.py": source},
        input={},
        **limits,
    )


def _returns(value: str) -> str:
    return (
        "from nango import create_action\n"
        "def run(nango, input):\n"
        f"    return {value!r}\n"
        "action = create_action(description='t', exec=run)\n"
    )


def _wait_idle(host: RunnerHost, count: int) -> None:
    deadline = time.monotonic() + 30
    while host.status()["idle_workers"] < count:
        assert time.monotonic() < deadline, "no idle worker became ready"
        time.sleep(0.01)


def test_a_worker_holds_no_other_tenants_code() -> None:
    pattern = "tenant-[ab]-[0-9a-f]{16}"
    host = RunnerHost(_Reports(pattern), warm, prewarm=1)
    try:
        # Made now, after the warm parent was forked: only the runs' messages carry them.
        secret_a = "tenant-a-" + os.urandom(8).hex()
        secret_b = "tenant-b-" + os.urandom(8).hex()
        first = host.execute(_job(_returns(secret_a)), _NoCalls())
        assert first.ok, first.error
        assert first.output == secret_a  # tenant A's code was compiled and ran
        _wait_idle(host, 1)  # the next run takes a worker forked and touched after it
        second = host.execute(_job(_returns(secret_b), max_open_files=REPORT), _NoCalls())
    finally:
        host.close()
    assert second.ok, second.error
    # Its own run's code, which proves the scan sees what a worker holds; nothing of A's.
    assert second.output["found"] == [secret_b]


def _page_faults(prewarm: int) -> int:
    """The page faults a run's worker took before its run (its fork, and a touch if any)."""
    host = RunnerHost(_Reports("^$"), warm, prewarm=prewarm)
    try:
        _wait_idle(host, prewarm)
        outcome = host.execute(_job(_returns("x"), max_open_files=REPORT), _NoCalls())
    finally:
        host.close()
    assert outcome.ok, outcome.error
    return int(outcome.output["faults"])


def test_an_idle_worker_is_touched_before_it_is_handed_out() -> None:
    # Without idle workers, the run's worker is forked for it and not touched; an idle one
    # ran the touch action first: the copy-on-write faults of a run's path, taken ahead
    # (several hundred; the fork alone takes a few dozen).
    untouched = _page_faults(prewarm=0)
    assert _page_faults(prewarm=1) > untouched + 100


class _SlowToContain(_Reports):
    def prepare_idle(self, sock: socket.socket) -> None:
        time.sleep(0.3)


def test_a_run_waits_for_its_worker_to_be_ready() -> None:
    host = RunnerHost(_SlowToContain("^$"), warm, prewarm=0)
    try:
        outcome = host.execute(_job(_returns("fine")), _NoCalls())
    finally:
        host.close()
    assert outcome.ok, outcome.error
    assert outcome.output == "fine"


class _CannotContain(_Reports):
    def prepare_idle(self, sock: socket.socket) -> None:
        raise OSError("no namespaces here")


@pytest.mark.parametrize("prewarm", [0, 1])
def test_a_worker_that_cannot_be_contained_never_runs(prewarm: int) -> None:
    host = RunnerHost(_CannotContain("^$"), warm, prewarm=prewarm)
    try:
        outcome = host.execute(_job(_returns("never")), _NoCalls())
    finally:
        host.close()
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error["type"] == "runner_error"
    assert "code 78" in outcome.error["message"]  # it never said it was ready, nor ran


def test_a_worker_not_ready_in_time_is_killed() -> None:
    left, right = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a worker that never says it is ready
        time.sleep(30)
        os._exit(0)
    worker = Worker(pid, left, os.pidfd_open(pid))
    try:
        assert not worker.wait_ready(0.05)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == 9
    finally:
        worker.close()
        right.close()


def test_a_worker_sending_anything_but_ready_is_killed() -> None:
    left, right = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        time.sleep(30)
        os._exit(0)
    worker = Worker(pid, left, os.pidfd_open(pid))
    try:
        right.sendall(b"{")
        assert not worker.wait_ready(5)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)
    finally:
        worker.close()
        right.close()


def test_runs_start_no_thread_to_refill_the_idle_workers() -> None:
    # One refill thread for the pool's life: a run only wakes it (a thread started by every
    # take held the run's thread until the new thread had run).
    earlier = set(threading.enumerate())
    host = RunnerHost(_Reports("^$"), warm, prewarm=1)
    try:
        _wait_idle(host, 1)
        before = {thread.ident for thread in threading.enumerate()}
        for index in range(5):
            outcome = host.execute(_job(_returns(str(index))), _NoCalls())
            assert outcome.ok, outcome.error
            _wait_idle(host, 1)  # refilled after each run
        started = [t.name for t in threading.enumerate() if t.ident not in before]
        refillers = [
            t for t in threading.enumerate() if t.name == "pool-refill" and t not in earlier
        ]
    finally:
        host.close()
    assert set(started) <= {"compile-runs"}  # the compiled programs' own thread, started once
    assert len(refillers) == 1
    refillers[0].join(timeout=10)
    assert not refillers[0].is_alive()  # it ends with its pool
