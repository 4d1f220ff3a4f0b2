"""A worker leaves the heap it inherited out of the garbage collector's passes: a full
collection during a run would walk (and, writing to each object's header, copy) the warm
parent's whole heap."""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Mapping
from typing import Any

import pytest

from runner import _protocol as protocol
from runner.worker import _worker


def test_a_worker_serves_its_run_with_the_inherited_heap_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def serve(sock: socket.socket, message: Mapping[str, Any], containment: Any) -> dict[str, Any]:
        return {"op": "done", "ok": True, "output": gc.get_freeze_count()}

    monkeypatch.setattr(_worker, "serve", serve)
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the forked worker, which exits in worker_main
        parent.close()
        _worker.worker_main(child)
    child.close()
    try:
        protocol.send(parent, {"op": "run", "mode": "run"})
        done = protocol.recv(parent)
    finally:
        parent.close()
        os.waitpid(pid, 0)

    assert done["ok"] is True
    assert done["output"] > 0
    assert gc.get_freeze_count() == 0  # the test's own process is left as it was
