"""The warm parent is a fresh interpreter (``runner/host/_fresh_parent.py``): it inherits nothing
of the process that made the runner host but the control socket. Not its heap (a secret the
host holds is nowhere in the warm parent's memory, nor in a worker's), not its environment,
not its descriptors, not gRPC (a process holding gRPC channels cannot fork safely: an author's
test process using ``corral.testing`` beside a gRPC client, or ``corral serve``'s own)."""

from __future__ import annotations

import os
import secrets
import socket
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from runner import RunnerHost, make_containment, warm
from runner._context import RunContext
from runner.host._host import Job
from tests.runner.sdk_support import Scripted

TOUCH = b"create_action(description='touch'"
"""In the warm parent's memory and so in every worker's (``runner.host._warm``'s touch)."""

HELD: dict[str, Any] = {}
"""What the test process holds while its runner host starts: a secret and a live gRPC channel."""


@pytest.fixture(scope="module")
def host() -> Iterator[RunnerHost]:
    marker = "corral-host-secret-" + secrets.token_hex(16)
    HELD["secret"] = marker
    HELD["secret_bytes"] = marker.encode()
    os.environ["CORRAL_FRESH_PARENT_SECRET"] = marker
    inheritable = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(inheritable, True)
    channel = grpc.insecure_channel("127.0.0.1:9")  # gRPC's threads running in this process
    HELD["channel"] = channel
    try:
        contain, layers = make_containment(strict=False)
        runner_host = RunnerHost(contain, warm, prewarm=1, layers=layers)
    finally:
        os.environ.pop("CORRAL_FRESH_PARENT_SECRET")
        os.close(inheritable)
    yield runner_host
    runner_host.close()
    channel.close()


def _warm_parent(host: RunnerHost) -> int:
    return int(host._pool._zygote_pid)


def _memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any readable, private mapping of ``pid`` holds ``needle`` (read as root does)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5].startswith("[v")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


def test_the_warm_parent_holds_nothing_of_the_host(host: RunnerHost) -> None:
    pid = _warm_parent(host)
    assert host.execute(_job(), Scripted()).ok  # it is warm and serving
    assert _memory_holds(os.getpid(), HELD["secret_bytes"])  # the search finds what is there
    assert _memory_holds(pid, TOUCH)  # and reads the warm parent's memory
    assert not _memory_holds(pid, HELD["secret_bytes"])
    with open(f"/proc/{pid}/environ", "rb") as environ:
        names = {item.partition(b"=")[0] for item in environ.read().split(b"\0") if item}
    assert names == {b"PATH"}
    fds = sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))
    assert fds[:3] == [0, 1, 2]
    for fd in fds[3:]:  # the control socket, and its own wake-up pipe: nothing else
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        assert target.startswith(("socket:", "pipe:")), target
    with open(f"/proc/{pid}/maps") as maps:
        assert "cygrpc" not in maps.read()  # gRPC's library never mapped
    with open(f"/proc/{pid}/status") as status:
        assert "Threads:\t1\n" in status.read()


def test_a_worker_holds_nothing_of_the_host_either(host: RunnerHost) -> None:
    worker = host._pool.take()  # an idle worker, contained, as the next run would get it
    try:
        assert _memory_holds(worker.pid, TOUCH)  # the search reads this worker's memory
        assert not _memory_holds(worker.pid, HELD["secret_bytes"])
    finally:
        worker.close()


def test_a_test_double_still_forks_with_the_host() -> None:
    """A containment stand-in whose code lives only in the calling process (the tests' own)
    is forked with it, as before: a fresh interpreter could not run it."""

    class Marks:
        def prepare_idle(self, sock: socket.socket) -> None:
            pass

        def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
            pass

        def cleanup(self, pid: int) -> None:
            pass

    forked = RunnerHost(Marks(), warm, prewarm=0)
    try:
        assert forked.execute(_job(), Scripted()).ok
        with open(f"/proc/{_warm_parent(forked)}/cmdline", "rb") as cmdline:
            assert b"-I" not in cmdline.read().split(b"\0")
    finally:
        forked.close()


def _job(body: str = "return {'ok': True}") -> Job:
    source = (
        "from nango import create_action\n"
        f"def run(nango, input):\n    {body}\n"
        "action = create_action(description='d', exec=run)\n"
    )
    return Job(
        run_id=f"fresh-{secrets.token_hex(4)}",
        kind="action",
        function_name="a",
        entry="a.py",
        files={"a.py": source},
        input={},
        context=RunContext(),
        wall_seconds=30,
    )


def test_a_process_with_threads_makes_a_runner_host_without_forking_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The layers' probe runs in a fresh interpreter too (``probe_apart``): making the
    containment and the host forks nothing of the calling process. A probe forked from a
    process holding a gRPC channel aborts (SIGABRT), so every layer read as missing."""
    channel = grpc.insecure_channel("127.0.0.1:9")

    def no_fork() -> int:
        raise AssertionError("the calling process forked")

    monkeypatch.setattr(os, "fork", no_fork)
    contain, layers = make_containment(strict=False)
    channel.close()
    failed = [why for why in layers["layers_missing"].values() if "the probe" in why]
    assert failed == []  # every layer was tried and answered for, none lost to a crash
    made = RunnerHost(contain, warm, prewarm=0, layers=layers)
    try:
        assert made.execute(_job(), Scripted()).ok
    finally:
        made.close()


def test_a_probe_that_cannot_report_leaves_every_layer_missing_with_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runner.host import _containment  # noqa: PLC0415
    from sandbox.os import ContainmentSettings  # noqa: PLC0415

    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    support = _containment.probe_apart(ContainmentSettings())
    assert support.available == frozenset()
    assert set(support.missing) == set(ContainmentSettings().layers)
    assert all("the probe did not report" in why for why in support.missing.values())
