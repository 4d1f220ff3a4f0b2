"""Process hygiene shared by ``corral serve`` and the runner: dying with the parent, one owner
of a data directory."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import pathlib
import signal
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Final, TextIO

from corral.errors import Unavailable

_PR_SET_PDEATHSIG: Final = 1
_LIBC: Final = ctypes.CDLL(None, use_errno=True)


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """Asks the kernel for ``sig`` when the parent dies; exits at once if it has died already.

    ``parent`` is the pid of the parent as the caller knew it before the fork or spawn: if the
    parent died before this call (the race ``prctl`` cannot close by itself), this process has
    been re-parented already and ``getppid`` differs. The signal is sent when the parent's
    forking thread ends, so callers fork from a thread that lives as long as the child should.
    """
    if _LIBC.prctl(ctypes.c_int(_PR_SET_PDEATHSIG), ctypes.c_ulong(sig), 0, 0, 0) == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    if os.getppid() != parent:
        os._exit(1)


class DataDirLock:
    """An exclusive ``flock`` on ``<data dir>/serve.lock``, held for the life of the process.

    The kernel drops it when the process ends, however it ends, so a stale lock file never
    blocks a new ``corral serve``.
    """

    FILE_NAME: Final = "serve.lock"

    def __init__(self, data_dir: pathlib.Path) -> None:
        """Takes the lock.

        Raises:
            Unavailable: ``data_dir_in_use`` when another process holds it.
        """
        self.data_dir = data_dir
        path = data_dir / self.FILE_NAME
        self._file: TextIO | None = path.open("a+")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            text = self._file.read().strip()
            holder = f"pid {text}" if text.isdigit() else "another process"
            self._file.close()
            self._file = None
            raise Unavailable(
                f"the data directory {data_dir} is in use by corral serve ({holder}); "
                "stop it first, or give this one another CORRAL_DATA_DIR",
                code="data_dir_in_use",
                retryable=False,
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self) -> None:
        """Lets the lock go (process exit does too)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


SIGNAL_POLL_SECONDS = 0.2
"""How often a main thread waiting for its stop event wakes to run pending signal handlers."""


def wait_for_stop(stop: threading.Event) -> None:
    """Blocks the main thread until ``stop`` is set, by a signal handler or another thread.

    Python runs signal handlers in the main thread, but the kernel delivers a process's signal
    to any of its threads (gRPC's and the pools' among them): a main thread blocked in a plain
    ``stop.wait()`` is then never interrupted, and the handler that would set ``stop`` waits
    until something else wakes it (a SIGTERM seen to take a minute). Waking every
    ``SIGNAL_POLL_SECONDS`` lets the handler run at once.
    """
    while not stop.wait(SIGNAL_POLL_SECONDS):
        pass


STRAY_THREADS_SECONDS = 1.0
"""How long a stopped process waits for its last non-daemon threads before it exits anyway."""


def exit_past_stray_threads(code: int = 0, wait: float = STRAY_THREADS_SECONDS) -> None:
    """Exits the process with ``code`` once its orderly stop is done, without waiting more than
    ``wait`` seconds for threads that are still blocked.

    After ``serve`` returns, every outcome is stored and every store closed; what may be left is
    a server pool's thread blocked on an upstream that does not answer (the proxy call of a run
    cancelled at shutdown), which the interpreter's exit would join until the call's own
    timeout. Only for a process's entry point: it never returns.
    """
    deadline = time.monotonic() + wait
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def fresh_python(code: str, spec: Mapping[str, Any]) -> list[str]:
    """The command line of a fresh interpreter of this Python that runs ``code`` with ``spec``
    (JSON) bound as ``spec``: ``-I`` (no ``PYTHON*`` variable, no user site), and this
    process's ``sys.path``, so it imports what this process would."""
    bootstrap = (
        "import json, sys\nspec = json.loads(sys.argv[1])\nsys.path[:] = spec['path']\n"
    ) + code
    return [sys.executable, "-I", "-c", bootstrap, json.dumps(dict(spec) | {"path": sys.path})]


def fresh_environment() -> dict[str, str]:
    """The whole environment of such an interpreter: ``PATH`` alone."""
    return {"PATH": os.environ.get("PATH", os.defpath)}
