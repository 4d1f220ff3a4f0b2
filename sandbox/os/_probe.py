"""Find out which containment layers this host can apply, without changing the caller."""

from __future__ import annotations

import json
import os
import select
import signal
import time
from typing import Final, NoReturn

from sandbox.os import _cgroups
from sandbox.os._layers import apply_layers
from sandbox.os._limits import WorkerLimits
from sandbox.os._prepare import (
    ALL_LAYERS,
    ContainmentSettings,
    HostSupport,
    PreparedContainment,
    prepare,
)

_DEFAULT_SETTINGS: Final = ContainmentSettings()
_TIMEOUT_SECONDS: Final = 10.0
_HEADROOM_BYTES: Final = 512 << 20


def probe(settings: ContainmentSettings = _DEFAULT_SETTINGS) -> HostSupport:
    """Try every layer in a throwaway child process and report which ones applied.

    Call once when the runner starts, before it creates threads or gRPC objects (it forks).
    Every layer of ``ALL_LAYERS`` is tried, plus any other name in ``settings.layers`` (which
    is then reported missing as unknown), with the uid, gid and cgroup root of ``settings``.
    The calling process is not changed; the child's cgroup is removed.
    """
    attempt = settings.with_strict(False).with_layers(ALL_LAYERS | settings.layers)
    prepared = prepare(attempt)
    limits = _probe_limits()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which reports over the pipe
        _child(attempt, limits, prepared, writer)
    os.close(writer)
    try:
        payload, finished = _read_until_eof(reader, time.monotonic() + _TIMEOUT_SECONDS)
    finally:
        os.close(reader)
        status = _reap(pid, kill=not finished)
        if not isinstance(prepared.cgroups, str):
            _cgroups.remove(prepared.cgroups, _cgroup_name(pid))
    return _support(attempt, payload, status)


def _cgroup_name(pid: int) -> str:
    return f"probe-{pid}"


def _probe_limits() -> WorkerLimits:
    """Default limits, with room above the caller's own address space for the report."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    memory = max(WorkerLimits().memory_bytes, size + _HEADROOM_BYTES)
    return WorkerLimits(cpu_seconds=int(_TIMEOUT_SECONDS), memory_bytes=memory)


def _child(
    settings: ContainmentSettings,
    limits: WorkerLimits,
    prepared: PreparedContainment,
    writer: int,
) -> NoReturn:  # pragma: no cover - runs in the child
    status = 1
    try:
        name = _cgroup_name(os.getpid())
        outcome = apply_layers(settings, limits, [writer], name, prepared)
        report: dict[str, object] = {"applied": sorted(outcome.applied), "missing": outcome.missing}
        status = 0
    except Exception as exc:  # the parent reports whatever broke the probe
        report = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        os.write(writer, json.dumps(report).encode())
    finally:
        os._exit(status)


def _read_until_eof(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything written to ``fd`` before the deadline, and whether the writer closed it."""
    chunks: list[bytes] = []
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def _reap(pid: int, *, kill: bool) -> int:
    """Wait for the child (killed first when it overran); its wait status."""
    if kill:
        os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _support(settings: ContainmentSettings, payload: bytes, status: int) -> HostSupport:
    why = f"the probe process failed (exit status {os.waitstatus_to_exitcode(status)})"
    try:
        report = json.loads(payload)
        why = f"the probe process failed: {report['error']}" if "error" in report else why
        applied, missing = frozenset(report["applied"]), dict(report["missing"])
    except (ValueError, KeyError, TypeError):
        return HostSupport(available=frozenset(), missing=dict.fromkeys(settings.layers, why))
    return HostSupport(available=applied, missing=missing)
