"""The warm parent as a fresh interpreter: what it runs, started by ``_zygote.start``.

The runner host starts its warm parent with ``python -I -c`` rather than forking itself, so the
warm parent inherits nothing of the host but the control socket: not its heap, its threads or
gRPC's state (a process holding gRPC channels cannot fork safely), not its environment (the
warm parent's is ``PATH`` alone), not its descriptors. It finds its modules where the host
found them (the host's ``sys.path``), imports and warms what workers need, and serves the
control socket as a forked one would (``_zygote``).
"""

from __future__ import annotations

import importlib
import socket
from typing import Any, NoReturn

from corral._process import fresh_python


def command(spec: dict[str, Any]) -> list[str]:
    """The command line that starts a warm parent from ``spec`` (see :func:`main`)."""
    return fresh_python("from runner.host._fresh_parent import main\nmain(spec)\n", spec)


def main(spec: dict[str, Any]) -> NoReturn:
    """Serves the control socket (descriptor ``ctrl_fd``, the only one given besides the
    standard three) with the containment and ``warm`` of ``spec``: ``{"path", "ctrl_fd",
    "host_pid", "warm": "module:name", "containment": {...} | None}``."""
    from corral._memory import bound_heap  # noqa: PLC0415
    from runner.host import _zygote  # noqa: PLC0415
    from runner.host._containment import Containment  # noqa: PLC0415

    bound_heap()  # as the runner host's: a worker's large responses go back when freed

    ctrl = socket.socket(fileno=int(spec["ctrl_fd"]))
    found = spec.get("containment")
    contain = Containment.from_spec(found) if found is not None else None
    module, _, name = str(spec["warm"]).partition(":")
    warm = getattr(importlib.import_module(module), name)
    _zygote.zygote_main(ctrl, contain, warm, int(spec["host_pid"]))
