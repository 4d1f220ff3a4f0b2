"""Compiled programs by the content of their files: what later runs' workers load instead of
compiling the same files again.

The first run of a function's files compiles them in its own worker, as always; beside it, a
**compile run** (a worker of its own, ``mode: compile``) compiles the same files and sends their
code back, marshalled. That worker never runs anything of the function: it only parses and
compiles the source under the sandbox's policy, so what it sends is what the compiler made of
the source, and nothing a breached run worker could have forged (a run worker's output is
never kept). The host keeps the bytes without reading them; each later run with the same files
gets them in its ``run`` message and loads them in its own contained worker
(``sandbox.program_from_codes``), or compiles itself if they do not load.

The key is the SHA-256 of the job's scope (its environment), its entry and every file (name and
content). Programs are never shared across environments: the same files in two environments
are compiled once in each, so how fast a first run starts tells nobody whether another tenant
runs the same code.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

MAX_ENTRIES = 256
"""Programs kept (the least recently used one goes first)."""
MAX_BYTES = 64 << 20
"""Bytes of compiled code kept, in all (base64 text)."""
MAX_PROGRAM_BYTES = 8 << 20
"""A program larger than this (compiled, in base64) is not kept: its runs compile."""
MAX_PENDING = 8
"""Programs waiting for their compile run at most; past that a new program is not asked for
(its runs compile, as before): runs with ever new files cannot pile up compile runs, or the
files they hold, in the host. Compile runs go one at a time, so they take at most one worker
beside the runs."""


class CompileJob(Protocol):
    """What a compile run needs of a run's job."""

    @property
    def entry(self) -> str:
        """The entry file."""

    @property
    def files(self) -> Mapping[str, str]:
        """File name to source."""

    @property
    def scope(self) -> str:
        """Whose programs the job may share (the environment)."""


CompileRun = Callable[[CompileJob], Any]
"""Runs a compile run of a job's files in a worker of its own; its output (None if it failed)."""


def program_key(scope: str, entry: str, files: Mapping[str, str]) -> str:
    """The SHA-256 of the scope, the entry and every file's name and content."""
    digest = hashlib.sha256()
    parts = [scope, entry]
    for name in sorted(files):
        parts += [name, files[name]]
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def checked_codes(output: Any, job: CompileJob) -> dict[str, str] | None:
    """A compile run's output when it is the compiled files of ``job`` (base64 text by file
    name, the entry among them, no other file), else None."""
    if not isinstance(output, dict) or job.entry not in output:
        return None
    if not all(isinstance(name, str) and name in job.files for name in output):
        return None
    if not all(isinstance(data, str) for data in output.values()):
        return None
    if sum(len(data) for data in output.values()) > MAX_PROGRAM_BYTES:
        return None
    return dict(output)


class CompiledPrograms:
    """Compiled programs by ``program_key``, filled by compile runs on a thread of their own."""

    def __init__(
        self,
        compile_run: CompileRun,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self._compile_run = compile_run
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._bytes = 0
        self._pending: set[str] = set()
        self._failed: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[str, CompileJob] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def codes_for(self, job: CompileJob) -> dict[str, str] | None:
        """The compiled files of ``job``'s program, or None (a compile run is then asked for,
        once per program, and later runs get them)."""
        key = program_key(job.scope, job.entry, job.files)
        with self._lock:
            codes = self._entries.get(key)
            if codes is not None:
                self._entries.move_to_end(key)
                return codes
            if self._closed or key in self._pending or key in self._failed:
                return None
            if len(self._pending) >= MAX_PENDING:
                return None
            self._pending.add(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._fill, name="compile-runs", daemon=True)
                self._thread.start()
        self._jobs.put((key, job))
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        """Stops the compile runs (the one in progress ends with its worker)."""
        with self._lock:
            self._closed = True
        self._jobs.put(None)

    def _fill(self) -> None:
        while (item := self._jobs.get()) is not None:
            key, job = item
            try:
                codes = checked_codes(self._compile_run(job), job)
            except Exception:  # a failed compile run only means no entry
                codes = None
            with self._lock:
                self._pending.discard(key)
                if codes is None:  # its runs fail to compile too: not asked again
                    self._failed[key] = None
                    while len(self._failed) > self._max_entries:
                        self._failed.popitem(last=False)
                elif not self._closed:
                    self._keep(key, codes)

    def _keep(self, key: str, codes: dict[str, str]) -> None:
        size = sum(len(data) for data in codes.values())
        self._entries[key] = codes
        self._sizes[key] = size
        self._bytes += size
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            old, _ = self._entries.popitem(last=False)
            self._bytes -= self._sizes.pop(old, 0)
