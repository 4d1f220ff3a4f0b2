"""Memory per process of a running `corral serve`: serve, runner host, warm parent, workers.

Read from ``/proc/<pid>/smaps_rollup``: RSS, and USS (the pages only this process holds:
private clean + private dirty), which says what a forked worker costs beyond what it shares
with its warm parent. The processes are found as a tree: serve's children are its runners, a
runner's child its warm parent, the warm parent's children its workers.
"""

from __future__ import annotations

import contextlib
import pathlib
import threading
from dataclasses import dataclass, field

from bench._rows import Row

KIND_ORDER = ("serve", "runner host", "warm parent", "worker")


def children(pid: int) -> list[int]:
    """The child pids of ``pid`` (all its threads'), or none if it is gone."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(p) for p in (task / "children").read_text().split()]
    return out


def tree(serve_pid: int) -> dict[int, str]:
    """The processes of a serve by pid, each with its kind."""
    kinds = {serve_pid: "serve"}
    for runner in children(serve_pid):
        kinds[runner] = "runner host"
        for parent in children(runner):
            kinds[parent] = "warm parent"
            kinds |= dict.fromkeys(children(parent), "worker")
    return kinds


def rss_uss_kib(pid: int) -> tuple[int, int] | None:
    """RSS and USS of ``pid`` in KiB (None if it is gone or a zombie)."""
    fields: dict[str, int] = {}
    try:
        lines = pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    for line in lines[1:]:
        name, _, rest = line.partition(":")
        with contextlib.suppress(ValueError, IndexError):
            fields[name] = int(rest.split()[0])
    if "Rss" not in fields:
        return None
    return fields["Rss"], fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)


@dataclass
class Snapshot:
    """The largest RSS and USS seen per kind of process (workers: per worker), in KiB."""

    rss: dict[str, int] = field(default_factory=dict)
    uss: dict[str, int] = field(default_factory=dict)
    workers: int = 0

    def take(self, serve_pid: int) -> None:
        """Reads every process of the serve now, keeping the largest figures."""
        found = tree(serve_pid)
        self.workers = max(self.workers, sum(1 for k in found.values() if k == "worker"))
        for pid, kind in found.items():
            sizes = rss_uss_kib(pid)
            if sizes is None:
                continue
            self.rss[kind] = max(self.rss.get(kind, 0), sizes[0])
            self.uss[kind] = max(self.uss.get(kind, 0), sizes[1])


class Sampler:
    """Takes snapshots every ``interval`` seconds on a thread, while a load runs."""

    def __init__(self, serve_pid: int, interval: float = 0.05) -> None:
        self.snapshot = Snapshot()
        self._pid = serve_pid
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.snapshot.take(self._pid)
            self._stop.wait(self._interval)


_TARGETS = {"runner host": ("rss", 40.0), "worker": ("uss", 10.0)}


def rows(snapshot: Snapshot, when: str) -> list[Row]:
    """One row per kind of process: RSS in MB (USS as well for workers), with the issue's
    targets (runner host RSS < 40 MB, a worker's USS < 10 MB)."""
    out = []
    for kind in KIND_ORDER:
        if kind not in snapshot.rss:
            continue
        rss, uss = snapshot.rss[kind] / 1024, snapshot.uss[kind] / 1024
        name = f"{when}: {kind}" + (" (largest)" if kind == "worker" else "")
        measure, limit = _TARGETS.get(kind, ("rss", 0.0))
        value = uss if measure == "uss" else rss
        row = Row(
            "memory",
            name + (" USS" if measure == "uss" else " RSS"),
            "MB",
            round(value, 1),
            extra={"rss_mb": round(rss, 1), "uss_mb": round(uss, 1)},
        )
        if limit:
            row.target, row.met = f"< {limit:g} MB", row.value < limit
        if kind == "worker":
            row.extra["workers_seen"] = snapshot.workers
        out.append(row)
    return out
