"""Run code in a contained child process and bring its findings back, for the breach tests.

``run_contained`` forks the test process, calls ``contain_worker`` in the child, runs a
``body`` of deliberately unrestricted Python there and returns the JSON the body produced
(or how the child died). The child always leaves through ``os._exit``; the parent always
reaps it, kills it first if it overran, and removes its cgroup.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox._containment import ContainmentError, cleanup_cgroup, contain_worker, prepare
from sandbox._containment_policy import ContainmentSettings
from sandbox._limits import WorkerLimits

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
    except BaseException as exc:  # noqa: BLE001 - every way of failing is a finding
        return {"ok": False, "error": type(exc).__name__, "errno": getattr(exc, "errno", None)}
    return {"ok": True, "value": value if isinstance(value, str | int | float | bool) else None}


def _send(sock: socket.socket, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    sock.sendall(struct.pack("!I", len(data)) + data)


def _child(
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
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
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
        _child(settings, limits, child_end, keep_fds, cgroup_name, body)
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


EPERM_OR_EACCES = {errno.EPERM, errno.EACCES}
