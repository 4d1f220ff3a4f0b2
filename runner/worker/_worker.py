"""The worker: one process per run, forked from the warm parent, running untrusted code.

It receives one ``run`` message, contains itself (sandbox containment), compiles and loads the
function under the sandbox policy, runs it with a ``nango`` object whose calls go back over the
same socket (``_channel``), sends ``done`` (``_failures`` when it failed), and exits. It never
serves a second run.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import socket
from collections.abc import Mapping
from typing import Any, NoReturn

import sandbox
from corral._memory import freeze_heap
from corral.errors import RunFailure
from runner import _protocol as protocol
from runner._context import RunContext
from runner.sdk._definitions import (
    ActionDefinition,
    OnEventDefinition,
    SyncDefinition,
)
from runner.sdk._nango import Nango
from runner.worker._channel import Channel
from runner.worker._failures import (
    OUT_OF_MEMORY,
    ViolationReporter,
    check_violations,
    done_error,
    done_frame,
    report,
)
from runner.worker._find_definition import SDK_MODULE, describe_all, find_definition
from runner.worker._values import to_json_value, validate_with

_KINDS = {"sync": SyncDefinition, "action": ActionDefinition, "on_event": OnEventDefinition}

_RESERVE_BYTES = 16 << 20
_reserve: list[bytes] = []
"""Memory held while function code runs and given back before its result is converted and
reported: a function that used up the memory still gets a typed answer. (``bytes(n)`` is
calloc'ed: it takes address space, not pages.)"""


def worker_main(sock: socket.socket, containment: Any = None) -> NoReturn:
    """Serves one run on ``sock`` and exits the process.

    When the function used up the memory, reporting may not be able to allocate anything: the
    answer is then a frame made in advance, or (if even sending it fails) an exit code the runner
    reads as ``resource_exhausted``.
    """
    code = 0
    frame = OUT_OF_MEMORY
    # Everything the worker inherited from the warm parent is left out of the collector's
    # passes (a constant-time move): a full collection during a run walked that whole heap,
    # writing to each object's header (copy-on-write faults), 30 ms of a 20,000-record sync.
    freeze_heap()
    try:
        message = protocol.recv(sock)
        result = serve(sock, message, containment)
        frame = done_frame(result, str(message.get("mode") or "run"))
    except MemoryError:
        code = protocol.EXIT_OUT_OF_MEMORY
    except BaseException as exc:
        code = 70
        with contextlib.suppress(BaseException):  # else the answer made in advance goes
            # No traceback: it would show the runner's own files to the function's author.
            name = type(exc).__name__
            failure = RunFailure("runner_error", f"internal error in the worker ({name})")
            frame = protocol.encode(done_error(failure))
    with contextlib.suppress(BaseException):  # nothing left to tell: the exit code says it
        sock.sendall(frame)
        code = 0 if code == protocol.EXIT_OUT_OF_MEMORY else code
    os._exit(code)


def serve(sock: socket.socket, message: Mapping[str, Any], containment: Any) -> dict[str, Any]:
    """Runs the message's function and returns the ``done`` message."""
    if containment is not None:
        containment(message.get("limits") or {})
    sandbox.reset_run_state()
    sandbox.set_violation_reporter(ViolationReporter(sock))
    _reserve[:] = [bytes(_RESERVE_BYTES)]
    files: dict[str, str] = dict(message.get("files") or {})
    program: Any = None
    try:
        if message.get("mode") == "describe":
            context = RunContext.from_wire(message.get("context") or {})
            described = describe_all(files, context.legacy_by_file)
            output = to_json_value(described, error_type="invalid_definition", what="a definition")
        elif message.get("mode") == "compile":
            program = sandbox.compile_program(files, str(message.get("entry")))
            output = _encoded_codes(program)
        else:
            program = _program(files, str(message.get("entry")), message.get("compiled"))
            output = _run(program, message, Channel(sock, _max_frame(message)))
        check_violations()
        return {"op": "done", "ok": True, "output": output}
    except BaseException as exc:
        _reserve.clear()
        return done_error(report(exc, program))


def _encoded_codes(program: Any) -> dict[str, str]:
    """A compile run's output: the program's compiled files (``sandbox.export_codes``), each
    marshalled and in base64."""
    return {
        name: base64.b64encode(data).decode()
        for name, data in sandbox.export_codes(program).items()
    }


def _program(files: Mapping[str, str], entry: str, compiled: Any) -> Any:
    """The program of a run: from the compiled files the host sent (made by a compile run of
    the same files), else compiled here."""
    if isinstance(compiled, Mapping):
        try:
            codes = {
                str(name): base64.b64decode(str(data), validate=True)
                for name, data in compiled.items()
            }
            return sandbox.program_from_codes(files, entry, codes)
        except (sandbox.NotAProgram, binascii.Error, ValueError):
            pass  # compiled here instead: the same program, only slower
    return sandbox.compile_program(files, entry)


def reset_after_touch() -> None:
    """Forgets what ``serve`` left of a touch run (``runner.host._warm.touch``): its reporter
    (bound to a socket now closed), its violations, its memory reserve."""
    sandbox.set_violation_reporter(None)
    sandbox.reset_run_state()
    _reserve.clear()


def _max_frame(message: Mapping[str, Any]) -> int:
    """The largest frame the run may send (its ``max_output_bytes``)."""
    limit = (message.get("limits") or {}).get("max_output_bytes")
    return limit if type(limit) is int and limit > 0 else protocol.MAX_FRAME


def _run(program: Any, message: Mapping[str, Any], channel: Channel) -> Any:
    context = RunContext.from_wire(message.get("context") or {})
    namespace = program.load(SDK_MODULE)
    definition = find_definition(namespace, context.legacy)
    expected = _KINDS.get(str(message.get("kind")))
    if expected is not None and not isinstance(definition, expected):
        raise RunFailure(
            "invalid_definition",
            f"the function is a {definition.kind}, not a {message.get('kind')}",
        )
    models = definition.models if isinstance(definition, SyncDefinition) else {}
    checkpoint = definition.checkpoint if isinstance(definition, SyncDefinition) else None
    nango = Nango(channel.call, context, models, checkpoint)
    if isinstance(definition, ActionDefinition):
        return _run_action(definition, nango, message.get("input"), context.validate)
    if isinstance(definition, SyncDefinition) and context.webhook:
        if definition.on_webhook is None:
            raise RunFailure("invalid_definition", "the sync has no on_webhook handler")
        definition.on_webhook(nango, message.get("input"))
        return None
    definition.exec(nango)
    return None


def _run_action(definition: ActionDefinition, nango: Nango, raw: Any, validate: bool) -> Any:
    if validate:
        value = validate_with(
            definition.input, raw, error_type="invalid_action_input", what="the input"
        )
    else:
        value = _unvalidated(definition.input, raw)
    output = definition.exec(nango, value)
    _reserve.clear()
    if validate and definition.output is not None:
        output = validate_with(
            definition.output, output, error_type="invalid_action_output", what="the output"
        )
    return to_json_value(output, error_type="invalid_action_output", what="the output")


def _unvalidated(model: Any, raw: Any) -> Any:
    """The input as the function sees it with validation off: a model built without checks
    (``model_construct``), so attribute access still works; anything but an object as it is."""
    if model is not None and isinstance(raw, dict):
        return model.model_construct(**raw)
    return raw
