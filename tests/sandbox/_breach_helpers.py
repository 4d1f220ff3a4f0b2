"""Run code in a contained child process and bring its findings back, for the breach tests.

``run_contained`` forks the test process, calls ``contain_worker`` in the child, runs a
``body`` of deliberately unrestricted Python there and returns the JSON the body produced
(or how the child died). The child always leaves through ``os._exit``; the parent always
reaps it, kills it first if it overran, and removes its cgroup.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.os import _cgroups
from sandbox.os._contain import ContainmentError, cleanup_cgroup, contain_worker, prepare
from sandbox.os._limits import WorkerLimits
from sandbox.os._prepare import ContainmentSettings

Body = Callable[[socket.socket], dict[str, Any]]
"""Code to run contained; gets the kept socket, returns JSON-able findings."""

_CRASHED = 70
_DEFAULT_TIMEOUT = 15.0


@dataclass
class ChildResult:
    """What a contained child reported, and how it ended."""

    report: dict[str, Any]
    status: int
    cgroup_name: str
    pid: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def signal(self) -> int | None:
        """The signal that killed the child, if one did."""
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None

    @property
    def exit_code(self) -> int | None:
        """The child's exit code, if it exited."""
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else None

    @property
    def applied(self) -> set[str]:
        """The layers ``contain_worker`` said it applied."""
        return set(self.report.get("applied", []))


def attempt(action: Callable[[], object]) -> dict[str, Any]:
    """Run ``action``; describe the outcome as JSON: ``ok`` and the error if any."""
    try:
        value = action()
    except BaseException as exc:  # every way of failing is a finding
        return {"ok": False, "error": type(exc).__name__, "errno": getattr(exc, "errno", None)}
    return {"ok": True, "value": value if isinstance(value, str | int | float | bool) else None}


def _send(sock: socket.socket, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    sock.sendall(struct.pack("!I", len(data)) + data)


def _child(
    *,
    settings: ContainmentSettings,
    limits: WorkerLimits,
    sock: socket.socket,
    keep_fds: Sequence[int],
    cgroup_name: str,
    body: Body,
) -> None:  # pragma: no cover - runs in the forked child
    code = _CRASHED
    try:
        applied = contain_worker(settings, limits, [sock.fileno(), *keep_fds], cgroup_name)
        _send(sock, {"applied": sorted(applied), **body(sock)})
        code = 0
    except ContainmentError as exc:
        _send(sock, {"containment_error": exc.to_dict(), "code": exc.code})
        code = 3
    except BaseException as exc:  # reported to the parent
        _send(sock, {"crash": f"{type(exc).__name__}: {exc}"})
    finally:
        os._exit(code)


def _receive(sock: socket.socket, deadline: float) -> dict[str, Any]:
    data = b""
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], remaining)
        if not ready:
            break
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    if len(data) < 4:
        return {}
    (size,) = struct.unpack("!I", data[:4])
    report: dict[str, Any] = json.loads(data[4 : 4 + size])
    return report


def _reap(pid: int, deadline: float) -> int:
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def run_contained(
    settings: ContainmentSettings,
    limits: WorkerLimits,
    body: Body,
    *,
    talk: Callable[[socket.socket], None] | None = None,
    keep_fds: Sequence[int] = (),
    timeout: float = _DEFAULT_TIMEOUT,
) -> ChildResult:
    """Fork, contain the child with ``settings`` and ``limits``, run ``body`` in it.

    ``talk`` runs in the parent once the child is forked, with the parent's end of the
    child's socket (to exchange messages with the body before its report).
    """
    prepare(settings)
    parent_end, child_end = socket.socketpair()
    cgroup_name = f"test-{os.getpid()}-{time.monotonic_ns()}"
    deadline = time.monotonic() + timeout
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _child(
            settings=settings,
            limits=limits,
            sock=child_end,
            keep_fds=keep_fds,
            cgroup_name=cgroup_name,
            body=body,
        )
    child_end.close()
    try:
        if talk is not None:
            talk(parent_end)
        report = _receive(parent_end, deadline)
    finally:
        parent_end.close()
        status = _reap(pid, deadline)
        cleanup_cgroup(settings, cgroup_name)
    return ChildResult(report=report, status=status, cgroup_name=cgroup_name, pid=pid)


def blocked(outcome: dict[str, Any]) -> bool:
    """Whether an ``attempt`` failed with an OS-level refusal (not a bug in the test)."""
    refusals = {
        "PermissionError",
        "FileNotFoundError",
        "OSError",
        "BlockingIOError",
        "MemoryError",
        "ConnectionRefusedError",
        "ProcessLookupError",
    }
    return not outcome["ok"] and outcome["error"] in refusals


def vsize() -> int:
    """The virtual size of the calling process, which a forked worker starts with."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Targets:
    """Things outside the worker that the test process sets up for it to attack."""

    parent_pid: int
    tcp: socket.socket
    udp: socket.socket
    unix: socket.socket
    unix_path: str
    abstract: socket.socket
    abstract_name: bytes
    tmp_dir: Path
    sigterm_received: list[int]
    victim: subprocess.Popen[bytes]

    @property
    def tcp_address(self) -> tuple[str, int]:
        """Where the TCP listener is; known before the fork (the child's copy is closed)."""
        return ("127.0.0.1", self._ports[0])

    @property
    def udp_address(self) -> tuple[str, int]:
        """Where the UDP socket is."""
        return ("127.0.0.1", self._ports[1])

    def __post_init__(self) -> None:
        self._ports = (self.tcp.getsockname()[1], self.udp.getsockname()[1])

    def nothing_arrived(self) -> bool:
        """No connection or datagram reached any of the listening sockets."""
        arrived = []
        for listener in (self.tcp, self.unix, self.abstract):
            listener.setblocking(False)
            arrived.append(attempt(listener.accept)["ok"])
        self.udp.setblocking(False)
        arrived.append(attempt(lambda: self.udp.recv(16))["ok"])
        return not any(arrived)


@contextlib.contextmanager
def open_targets(tmp_path: Path) -> Iterator[Targets]:
    """Listen on TCP, UDP, a unix path and an abstract socket; start a victim; catch SIGTERM."""
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix_path = str(tmp_path / "runner.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen()
    name = f"\0corral-breach-{os.getpid()}".encode()
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(name)
    abstract.listen()
    tmp_path.chmod(0o777)  # even the unprivileged uid could write here without the kernel layers
    # A process of the test's uid to attack with ptrace and signals: were an attack to work,
    # it stops or kills this one rather than the test process.
    victim = subprocess.Popen(["sleep", "60"])
    try:
        yield Targets(
            os.getpid(), tcp, udp, unix, unix_path, abstract, name, tmp_path, received, victim
        )
        assert victim.poll() is None, "the victim process was killed from the worker"
    finally:
        victim.kill()
        victim.wait()
        for sock in (tcp, udp, unix, abstract):
            sock.close()
        signal.signal(signal.SIGTERM, previous)


def read_file(path: str) -> Callable[[], object]:
    """An attack: read a whole file."""
    return lambda: len(Path(path).read_bytes())


def write_file(path: str) -> Callable[[], object]:
    """An attack: create or overwrite a file."""
    return lambda: Path(path).write_text("breach")


def connect(family: int, address: object, kind: int = socket.SOCK_STREAM) -> Callable[[], object]:
    """An attack: open a socket and connect it (or send a datagram) to ``address``."""

    def run() -> object:
        with socket.socket(family, kind) as sock:
            sock.settimeout(1.0)
            if kind == socket.SOCK_DGRAM:
                return sock.sendto(b"breach", address)
            sock.connect(address)
            return True

    return run


def fork() -> object:
    """An attack: fork (the child, if there is one, leaves at once)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - only if the layers failed
        os._exit(0)
    return pid


def execute() -> object:  # pragma: no cover - replaced by /bin/sh only if the layers failed
    """An attack: replace the worker by a shell that exits 42."""
    os.execv("/bin/sh", ["sh", "-c", "exit 42"])  # noqa: S606 - the attack under test


def refused_if_minus_one(result: int) -> object:
    """A raw libc call: -1 means the kernel refused; raise so ``attempt`` records a refusal."""
    if result == -1:
        raise OSError(ctypes.get_errno(), "refused")
    return result


def remove_cgroup_parents() -> None:
    """Remove the ``corral`` cgroup directories the tests made, once they are empty."""
    layout = prepare(ContainmentSettings()).cgroups
    if not isinstance(layout, str):
        _cgroups.remove_parents(layout)
