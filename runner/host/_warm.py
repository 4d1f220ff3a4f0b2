"""What the warm parent does once, so that no worker pays for it: import and exercise.

``touch`` is what an idle worker does once it is contained, before it tells the host it is
ready: what most runs do (load a program a compile run made, run it, convert the output) on a
small constant action, so that the run's first copy-on-write faults are taken off its path.
Only this module's own constant code is compiled here: no tenant's code ever is, in the warm
parent or before a run.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from typing import cast

_TOUCH_CODES: dict[str, str] = {}
"""The touch action compiled once by the warm parent (the runner's own code, no tenant's), as
a compile run would send it: a touch loads it the way most runs load their program."""

_TOUCH_SOURCE = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return {'n': input['n']}\n"
    "action = create_action(description='touch', exec=run)\n"
)


def warm() -> Callable[[], None]:
    """Imports everything a worker needs and runs pydantic's lazy paths once; returns
    ``touch``, for idle workers."""
    import pydantic  # noqa: PLC0415

    import sandbox  # noqa: PLC0415
    from runner.sdk import _wire  # noqa: PLC0415
    from runner.worker import _find_definition, _worker  # noqa: F401, PLC0415 - _worker: for workers

    _stdlib_lazy_paths()
    _wire.exercise()  # the SDK's protobuf messages, built and read once

    source = (
        "from nango import create_action\n"
        "from pydantic import BaseModel, Field\n"
        "class In(BaseModel):\n"
        "    name: str = Field(default='x', min_length=1)\n"
        "    tags: list[str] = []\n"
        "def run(nango, input):\n"
        "    return {'n': input.name, 'gen': [t for t in input.tags]}\n"
        "action = create_action(description='warm', input=In, exec=run)\n"
    )
    program = sandbox.compile_program({"warm.py": source}, "warm.py")
    definition = _find_definition.find_definition(program.load(_find_definition.SDK_MODULE))
    model = definition.input if hasattr(definition, "input") else None
    if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
        instance = model.model_validate({"name": "a", "tags": ["b"]})
        instance.model_dump(mode="json", by_alias=True, exclude_unset=True)
        model.model_json_schema()
    sandbox.reset_run_state()
    touch_program = sandbox.compile_program({"touch.py": _TOUCH_SOURCE}, "touch.py")
    codes = sandbox.export_codes(touch_program)
    _TOUCH_CODES.update({name: base64.b64encode(data).decode() for name, data in codes.items()})
    sandbox.reset_run_state()
    return touch


def touch() -> None:
    """A trivial run's whole path in the worker (``serve``: load the compiled program, run,
    convert and encode the output) on the warm parent's constant action, given compiled as a
    compile run's program is (a run that compiles touches the compiler's pages itself: only a
    program's first run in an environment does). The output frame is encoded, never sent:
    nothing reaches the host before ``READY``."""
    from runner import _protocol  # noqa: PLC0415
    from runner.worker import _worker  # noqa: PLC0415

    message = {
        "op": "run",
        "mode": "run",
        "kind": "action",
        "function_name": "touch",
        "entry": "touch.py",
        "files": {"touch.py": _TOUCH_SOURCE},
        "compiled": dict(_TOUCH_CODES),
        "input": {"n": 1},
        "context": {},
        "limits": {},
    }
    try:  # no socket: a contained worker may not make one, and this function calls nothing
        _protocol.encode(_worker.serve(cast("socket.socket", _NoSocket()), message, None))
    finally:
        _worker.reset_after_touch()


class _NoSocket:
    """The touch run's socket: whatever is sent on it goes nowhere."""

    def sendall(self, data: bytes) -> None:
        """Drops ``data``."""
        del data


def _stdlib_lazy_paths() -> None:
    """Runs what the allowed modules import lazily: after containment nothing can be imported."""
    import datetime  # noqa: PLC0415
    import decimal  # noqa: PLC0415
    import hashlib  # noqa: PLC0415
    import linecache  # noqa: PLC0415
    import traceback  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    datetime.datetime.strptime("2026-01-02T03:04:05+0000", "%Y-%m-%dT%H:%M:%S%z")
    datetime.datetime.fromisoformat("2026-01-02T03:04:05+00:00").astimezone().isoformat()
    "bücher.example".encode("idna")
    "x".encode("utf-16-le").decode("utf-16-le")
    "x".encode("latin-1")
    decimal.Decimal("1.10").quantize(decimal.Decimal("0.1"))
    for name in sorted(hashlib.algorithms_guaranteed):
        hashlib.new(name, b"x")
    uuid.uuid4()
    uuid.uuid5(uuid.NAMESPACE_URL, "x")
    traceback.format_exception(ValueError("x"))
    linecache.getlines(__file__)
