"""The host's side of the warm parent: spawn workers, keep some idle, learn how they ended."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corral.errors import Unavailable
from runner.host import _zygote

_MAX_PACKET = 65536
READY_SECONDS = 10.0
"""How long a new worker may take to contain itself and touch its pages before it is killed."""


@dataclass
class Worker:
    """One forked worker process, not yet used or in use by one run."""

    pid: int
    sock: socket.socket
    pidfd: int
    killed: bool = False
    cancelled: bool = False
    _closed: bool = field(default=False, repr=False)

    def wait_ready(self, timeout: float) -> bool:
        """Reads the worker's ``READY`` byte (it is contained, its pages touched); False if it
        ended first or sent anything else (a run then finds it dead and reads its exit status),
        or if it was not ready in ``timeout`` (it is killed: nothing it sends later can be taken
        for a frame of its run)."""
        try:
            self.sock.settimeout(timeout)
            data = self.sock.recv(1)
        except OSError:  # a timeout, or the socket closed under it
            data = b""
        finally:
            with contextlib.suppress(OSError):
                self.sock.settimeout(None)
        if data != _zygote.READY:
            self.kill()
            return False
        return True

    def kill(self) -> None:
        """SIGKILLs the worker (through its pidfd: never another process)."""
        if self._closed:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    def close(self) -> None:
        """Kills the worker if alive and releases its descriptors."""
        if self._closed:
            return
        self.kill()
        self._closed = True
        self.sock.close()
        os.close(self.pidfd)


class WorkerPool:
    """Forks workers through the zygote and keeps ``prewarm`` of them idle, ahead of demand."""

    def __init__(
        self,
        contain: _zygote.Contain | None,
        warm: _zygote.Warm,
        prewarm: int = 2,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        """``on_lost`` is called (once, on the pool's reader thread) when the warm parent dies
        while the pool is open: no worker can be forked any more."""
        self._zygote_pid, self._ctrl = _zygote.start(contain, warm)
        self._prewarm = prewarm
        self._on_lost = on_lost
        self._spawn_lock = threading.Lock()
        lock = threading.RLock()
        self._cond = threading.Condition(lock)
        self._wanted = threading.Condition(lock)
        """Wakes the refill thread: idle workers are missing, or the pool closed."""
        self._refill_wanted = False
        self._spawned: deque[Worker] = deque()
        self._statuses: dict[int, int] = {}
        self._idle: deque[Worker] = deque()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="zygote-reader", daemon=True)
        self._reader.start()
        # One refill thread for the pool's life: a run's ``take`` only wakes it, never waits for
        # a thread to start (a thread started per take held the taking thread 0.2-0.3 ms).
        self._refiller = threading.Thread(target=self._refill_loop, name="pool-refill", daemon=True)
        self._refiller.start()
        self.refill()

    def take(self) -> Worker:
        """An idle worker (or a new one), never used before, contained and ready.

        A worker that ended (or was killed) before it was ready is handed out as well: its run
        ends with what its exit status says (a worker that could not be contained, 78).
        """
        with self._cond:
            worker = self._idle.popleft() if self._idle else None
        if worker is None:  # a run waits: no touch, its own work touches the same pages
            worker = self._spawn(touch=False)
            worker.wait_ready(READY_SECONDS)
        self.refill()
        return worker

    def idle_count(self) -> int:
        """How many workers wait for a run."""
        with self._cond:
            return len(self._idle)

    def refill(self) -> None:
        """Tops the idle workers up to ``prewarm`` in the background (wakes the refill
        thread)."""
        with self._cond:
            if self._closed or len(self._idle) >= self._prewarm:
                return
            self._refill_wanted = True
            self._wanted.notify()

    def _refill_loop(self) -> None:
        while True:
            with self._cond:
                self._wanted.wait_for(lambda: self._refill_wanted or self._closed)
                if self._closed:
                    return
                self._refill_wanted = False
            self._refill()

    def _refill(self) -> None:
        while True:
            with self._cond:
                missing = 0 if self._closed else self._prewarm - len(self._idle)
            if missing <= 0:
                return
            # Forked all at once, then waited for: they contain and touch themselves side by
            # side (on other cores), off the run's path.
            forked: list[Worker] = []
            try:
                for _ in range(missing):
                    forked.append(self._spawn(touch=True))
            except Unavailable:
                missing = 0
            for worker in forked:
                worker.wait_ready(READY_SECONDS)
                with self._cond:
                    closed = self._closed
                    if not closed:
                        self._idle.append(worker)
                if closed:  # the pool closed while this worker was being forked
                    worker.close()
            if not missing:
                return

    def wait_status(self, pid: int, timeout: float) -> int | None:
        """The raw wait status of a worker that ended, or None if unknown after ``timeout``."""
        with self._cond:
            self._cond.wait_for(lambda: pid in self._statuses or self._closed, timeout)
            return self._statuses.pop(pid, None)

    def _spawn(self, *, touch: bool) -> Worker:
        with self._spawn_lock, self._cond:
            if self._closed:
                raise Unavailable("the runner is shutting down")
            _zygote.send_packet(self._ctrl, {"op": "spawn", "touch": touch})
            if not self._cond.wait_for(lambda: self._spawned or self._closed, 10.0):
                raise Unavailable("the warm parent did not fork a worker in time")
            if not self._spawned:
                raise Unavailable("the warm parent is gone")
            return self._spawned.popleft()

    def _read(self) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self._ctrl, _MAX_PACKET, 2)
            except OSError:
                data, fds = b"", []
            if not data:
                break
            self._handle(json.loads(data), fds)
        with self._cond:
            lost = not self._closed
            self._closed = True
            self._cond.notify_all()
            self._wanted.notify_all()
        if lost and self._on_lost is not None:
            self._on_lost()

    def closed(self) -> bool:
        """The pool forks no more workers: it was closed, or its warm parent is gone."""
        with self._cond:
            return self._closed

    def _handle(self, message: dict[str, Any], fds: list[int]) -> None:
        with self._cond:
            if message.get("op") == "spawned" and len(fds) == 2:
                sock = socket.socket(fileno=fds[0])
                self._spawned.append(Worker(int(message["pid"]), sock, fds[1]))
            elif message.get("op") == "exited":
                self._statuses[int(message["pid"])] = int(message["status"])
                if len(self._statuses) > 10_000:  # statuses nobody asked for
                    self._statuses.pop(next(iter(self._statuses)))
            else:
                for fd in fds:
                    os.close(fd)
            self._cond.notify_all()

    def close(self) -> None:
        """Stops the zygote and kills idle workers."""
        with self._cond:
            self._closed = True
            self._wanted.notify_all()
            idle, self._idle = list(self._idle), deque()
        for worker in idle:
            worker.close()
        with contextlib.suppress(OSError):
            _zygote.send_packet(self._ctrl, {"op": "stop"})
        with contextlib.suppress(OSError):
            self._ctrl.shutdown(socket.SHUT_RDWR)
        self._reader.join(timeout=5)
        self._refiller.join(timeout=5)
        with self._cond:
            leftover = [*self._spawned, *self._idle]
            self._spawned.clear()
            self._idle.clear()
        for worker in leftover:
            worker.close()
        self._ctrl.close()
        _zygote.wait(self._zygote_pid)
