"""The warm parent: a process that has imported everything and forks one worker per run.

It is a fresh interpreter the runner host starts (``_fresh_parent``; a test's containment
stand-in is forked with the host instead), holds no secret and no tenant data, and talks to the
host over a SOCK_SEQPACKET control socket:

- host -> zygote ``{"op": "spawn", "touch": bool}``: fork a worker (``touch``: see below); the
  reply ``{"op": "spawned", "pid"}`` carries two descriptors: the host's end of the worker's
  socket and a pidfd of the worker.
- zygote -> host ``{"op": "exited", "pid", "status"}`` when a worker ends (raw wait status).
- host -> zygote ``{"op": "stop"}``, or the host closing the socket: kill workers and exit.

A worker contains itself as soon as it is forked, then (when the spawn asked for it: a worker
forked ahead of demand, not one a run waits for) runs the warm parent's ``touch`` (its first
copy-on-write faults, taken off the run's path), and sends ``READY`` (one byte) on its socket
before it reads its run: the host hands out only workers that sent it.

The zygote gets SIGTERM when the host dies (``PR_SET_PDEATHSIG``) and then kills its workers
too; the host's death also closes the control socket, which does the same. Each worker gets
SIGKILL when the zygote dies (until its containment changes its user, which clears that), and
an idle worker exits when the host's end of its socket closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from corral._process import die_with_parent, fresh_environment

READY = b"\x01"
"""What a worker sends on its socket once it is contained and touched, before reading its run."""

Warm = Callable[[], Callable[[], None] | None]
"""Run once in the warm parent; may return what each idle worker runs before it is ready."""


class Contain(Protocol):
    """Containment of workers: applied in each worker, cleaned up after each one."""

    def prepare_idle(self, sock: socket.socket) -> None:
        """Contains a worker as soon as it is forked, before it knows its run."""

    def apply(self, sock: socket.socket, limits: dict[str, Any]) -> None:
        """Applies a run's limits in its worker, before function code runs."""

    def cleanup(self, pid: int) -> None:
        """Releases what a reaped worker left (its cgroup)."""


_MAX_PACKET = 65536


def start(contain: Contain | None, warm: Warm) -> tuple[int, socket.socket]:
    """Starts the zygote; returns its pid and the host's end of the control socket.

    With the runner's own containment (or none) and a ``warm`` its module names, the zygote is
    a fresh interpreter (``_fresh_parent``): it inherits nothing of this process. Anything else
    (a test's stand-in, whose code lives only in this process) is forked with this process.
    """
    host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    host_pid = os.getpid()
    spec = _fresh_spec(contain, warm)
    if spec is not None:
        pid = _start_fresh(spec | {"ctrl_fd": zygote_end.fileno(), "host_pid": host_pid})
    else:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            host_end.close()
            zygote_main(zygote_end, contain, warm, host_pid)
    zygote_end.close()
    return pid, host_end


def _fresh_spec(contain: Contain | None, warm: Warm) -> dict[str, Any] | None:
    """What a fresh interpreter needs to be this zygote (None: it can only be forked)."""
    from runner.host._containment import Containment  # noqa: PLC0415

    if not sys.executable or (contain is not None and type(contain) is not Containment):
        return None
    module, name = getattr(warm, "__module__", None), getattr(warm, "__qualname__", "")
    if not module or getattr(sys.modules.get(module), name, None) is not warm:
        return None
    return {
        "warm": f"{module}:{name}",
        "containment": contain.to_spec() if isinstance(contain, Containment) else None,
    }


def _start_fresh(spec: dict[str, Any]) -> int:
    from runner.host import _fresh_parent  # noqa: PLC0415

    process = subprocess.Popen(
        _fresh_parent.command(spec),
        pass_fds=[int(spec["ctrl_fd"])],
        env=fresh_environment(),
        stdin=subprocess.DEVNULL,
    )
    with _STARTED_LOCK:
        _STARTED[process.pid] = process
    return process.pid


def wait(pid: int) -> None:
    """Waits for the zygote ``pid`` started by :func:`start` to end, and reaps it."""
    with _STARTED_LOCK:
        process = _STARTED.pop(pid, None)
    if process is not None:
        process.wait()
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


_STARTED: dict[int, subprocess.Popen[bytes]] = {}
"""The zygotes started as fresh interpreters, until :func:`wait` reaps them."""
_STARTED_LOCK = threading.Lock()


def send_packet(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """Sends one control packet (with descriptors, if any)."""
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def _stop_on_term(*_: object) -> NoReturn:
    raise SystemExit(1)  # unwinds ``_serve``, whose ``finally`` kills the workers


def zygote_main(
    ctrl: socket.socket, contain: Contain | None, warm: Warm, host_pid: int
) -> NoReturn:
    """The zygote's life: warm once, then fork workers on the host's word until it stops."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, _stop_on_term)
        die_with_parent(host_pid, signal.SIGTERM)
        os.setsid()
        touch = warm()
        _serve(ctrl, contain, touch)
    except BaseException:
        code = 1
    os._exit(code)


def _serve(ctrl: socket.socket, contain: Contain | None, touch: Callable[[], None] | None) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    try:
        while True:
            ready, _, _ = select.select([ctrl.fileno(), wake_r], [], [])
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
            _reap(ctrl, children, contain)
            if ctrl.fileno() in ready and not _command(ctrl, contain, children, touch):
                return
    finally:
        _kill_all(children, contain)


def _kill_all(children: set[int], contain: Contain | None) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        if contain is not None:
            contain.cleanup(pid)


def _reap(ctrl: socket.socket, children: set[int], contain: Contain | None) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        if contain is not None:
            contain.cleanup(pid)
        send_packet(ctrl, {"op": "exited", "pid": pid, "status": status})


def _command(
    ctrl: socket.socket,
    contain: Contain | None,
    children: set[int],
    touch: Callable[[], None] | None,
) -> bool:
    data = ctrl.recv(_MAX_PACKET)
    if not data:
        return False
    message = json.loads(data)
    if message.get("op") == "stop":
        return False
    if message.get("op") == "spawn":
        pid, host_fd, pidfd = _spawn(ctrl, contain, touch if message.get("touch") else None)
        children.add(pid)
        try:
            send_packet(ctrl, {"op": "spawned", "pid": pid}, [host_fd, pidfd])
        finally:
            os.close(host_fd)
            os.close(pidfd)
    return True


def _spawn(
    ctrl: socket.socket, contain: Contain | None, touch: Callable[[], None] | None
) -> tuple[int, int, int]:
    host_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    zygote_pid = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the worker
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent(zygote_pid)
        ctrl.close()
        host_end.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _worker(worker_end, contain, touch)
    worker_end.close()
    pidfd = os.pidfd_open(pid)
    return pid, host_end.detach(), pidfd


def _worker(
    sock: socket.socket, contain: Contain | None, touch: Callable[[], None] | None
) -> NoReturn:  # pragma: no cover
    from runner.worker._worker import worker_main  # noqa: PLC0415 - imported already by warm()

    if contain is not None:
        try:
            contain.prepare_idle(sock)
        except BaseException:  # a worker that cannot be contained never runs
            os._exit(78)
    if touch is not None:
        with contextlib.suppress(Exception):  # an optimisation: the run does it if this fails
            touch()
    try:
        sock.sendall(READY)
    except OSError:  # the host closed its end: nobody will send a run
        os._exit(0)

    def apply(limits: dict[str, Any]) -> None:
        if contain is not None:
            contain.apply(sock, limits)

    worker_main(sock, apply)
