"""Processes of a real `corral serve`, read from /proc: its tree, and whether one is gone."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable

Pid = tuple[int, str]
"""A process as (pid, start time), so that a reused pid is not taken for the same process."""


def _stat(pid: int) -> list[str] | None:
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # fields from the state on


def identify(pid: int) -> Pid:
    """The process ``pid`` as it is now (it must be running)."""
    fields = _stat(pid)
    assert fields is not None, f"no process {pid}"
    return pid, fields[19]


def alive(process: Pid) -> bool:
    """The process is still running (not a zombie, not a new process with its pid)."""
    fields = _stat(process[0])
    return fields is not None and fields[0] != "Z" and fields[19] == process[1]


def children(parent: int) -> list[Pid]:
    """The running children of ``parent``, oldest first."""
    out: list[tuple[int, Pid]] = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is not None and int(fields[1]) == parent and fields[0] != "Z":
            out.append((int(fields[19]), (int(entry.name), fields[19])))
    return [process for _, process in sorted(out)]


def descendants(root: int) -> list[Pid]:
    """Every process below ``root`` (children, their children, ...), zombies included."""
    parents: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[Pid] = []
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if (fields := _stat(child)) is not None:
                out.append((child, fields[19]))
                todo.append(child)
    return out


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """Polls ``condition`` every 50 ms until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
