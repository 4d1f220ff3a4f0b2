"""The worker: one process per run, forked from the warm parent, running untrusted code.

It receives one ``run`` message, contains itself (sandbox containment), compiles and loads the
function under the sandbox policy, runs it with a ``nango`` object whose calls go back over the
same socket, sends ``done``, and exits. It never serves a second run.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import socket
from collections.abc import Mapping
from typing import Any, NoReturn, cast

import pydantic
from google.protobuf.message import Message

import sandbox
from corral._error_shapes import ErrorValue, to_json
from corral._memory import freeze_heap
from corral.errors import CompileError, RunFailure
from corral.v1 import callbacks_pb2 as pb
from runner import _protocol as protocol
from runner._context import RunContext
from runner.sdk import _wire as _sdk_wire
from runner.sdk._definitions import (
    ActionDefinition,
    ActionError,
    Definition,
    NangoType,
    OnEventDefinition,
    SyncDefinition,
    create_action,
    create_on_event,
    create_sync,
    describe,
    legacy_definition,
)
from runner.sdk._nango import Nango
from runner.sdk._response import HttpError, NangoError, Response
from runner.worker._values import to_json_value, validate_with
from sandbox.language import SandboxViolation

SDK_MODULE: Mapping[str, object] = {
    "create_sync": create_sync,
    "create_action": create_action,
    "create_on_event": create_on_event,
    "ActionError": ActionError,
    "HttpError": HttpError,
    "Nango": NangoType,
    "NangoError": NangoError,
    "Response": Response,
}
"""The content of the virtual ``nango`` module that function code imports."""

_KINDS = {"sync": SyncDefinition, "action": ActionDefinition, "on_event": OnEventDefinition}

_RESERVE_BYTES = 16 << 20
_reserve: list[bytes] = []
"""Memory held while function code runs and given back before its result is converted and
reported: a function that used up the memory still gets a typed answer. (``bytes(n)`` is
calloc'ed: it takes address space, not pages.)"""

_NOT_JSON = (ValueError, TypeError, UnicodeError, RecursionError)
"""What encoding a message raises for a value that is not strict JSON (NaN, Infinity, a lone
surrogate, an object, a cycle)."""
_INVALID_ARGUMENTS = {
    "batch_save": "invalid_sync_record",
    "batch_update": "invalid_sync_record",
    "batch_delete": "invalid_sync_record",
    "save_checkpoint": "invalid_checkpoint",
}
_MAX_LINE = 2**31 - 1
_FULL_AFTER_MISS = 8
"""Batches of a model sent in full after a hashes-first one whose records the store mostly
did not hold (a first sync, or records that change): each would otherwise cost a call more."""


class _Channel:
    """Sends SDK calls to the runner and waits for each reply."""

    def __init__(self, sock: socket.socket, max_frame: int = protocol.MAX_FRAME) -> None:
        self._sock = sock
        self._next_id = 0
        self._max_message = _sdk_wire.message_budget(max_frame)
        self._full_saves: dict[str, int] = {}
        """Per model, how many more batches go in full before one goes hashes first again."""

    def call(self, method: str, args: dict[str, Any]) -> Any:
        """One SDK operation: its RunnerCallbacks request message(s) sent, the replies read.

        A ``batch_save`` goes hashes first (``_sdk_wire.hashes_first``) while the store keeps
        answering that it holds at least half of a batch's records unchanged; after a batch it
        did not, the next :data:`_FULL_AFTER_MISS` batches of that model go in full."""
        try:
            first = (
                _sdk_wire.hashes_first(str(args["model"]), list(args["records"]), self._max_message)
                if method == "batch_save" and self._try_hashes_first(str(args["model"]))
                else None
            )
            calls = [] if first else list(_sdk_wire.requests(method, args, self._max_message))
        except _NOT_JSON as exc:
            raise RunFailure(
                _INVALID_ARGUMENTS.get(method, "script_internal_error"),
                f"the values given to nango.{method}() are not valid JSON ({_reason(exc)})",
            ) from None
        if first is not None:
            return self._save_hashes_first(*first)
        return _sdk_wire.combine([self._send(rpc, request) for rpc, request in calls])

    def _try_hashes_first(self, model: str) -> bool:
        waiting = self._full_saves.get(model, 0)
        if waiting:
            self._full_saves[model] = waiting - 1
        return not waiting

    def _save_hashes_first(self, batch: pb.RecordBatch, encoded: list[bytes]) -> Any:
        """Sends a batch's ids and digests, then the records the store does not hold unchanged
        (every record, when the answer names none: a handler that knows nothing of hashes
        first loses nothing)."""
        result = self._exchange("BatchSave", batch)
        assert isinstance(result, pb.RecordBatchResult)  # noqa: S101 - BatchSave's reply type
        held = set(result.held)
        rest = [data for n, data in enumerate(encoded) if n not in held]
        if 2 * len(rest) > len(encoded):
            self._full_saves[batch.model] = _FULL_AFTER_MISS
        parts = _sdk_wire.packed(batch.model, rest, self._max_message) if rest else []
        counts = [_sdk_wire.value(result)]
        return _sdk_wire.combine(counts + [self._send("BatchSave", part) for part in parts])

    def _send(self, rpc: str, request: Message) -> Any:
        return _sdk_wire.value(self._exchange(rpc, request))

    def _exchange(self, rpc: str, request: Message) -> Message:
        self._next_id += 1
        self._sock.sendall(protocol.encode(protocol.call_message(self._next_id, rpc, request)))
        reply = protocol.recv(self._sock)
        if reply.get("ok"):
            data = protocol.recv_reply(self._sock, reply)
            # upb parses any buffer; its stubs say bytes, and bytes() would copy a large body.
            response = _sdk_wire.response_type(rpc).FromString(cast("bytes", data))
            del data  # the message holds its own copy
            return response
        error = reply.get("error") or {}
        raise NangoError(
            str(error.get("type") or "script_internal_error"),
            str(error.get("message") or "the call failed"),
            payload=error.get("payload"),
        )


class _ViolationReporter:
    """Tells the runner of a guard violation the moment it happens, then ends the worker.

    Function code never runs after a violation, so it cannot catch the error and go on, and no
    later message can clear it: the runner ends the run on this frame.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def __call__(self, record: Mapping[str, Any]) -> None:
        frame = {
            "op": "violation",
            "rule": _text(record.get("rule")) or "unknown",
            "message": _text(record.get("message"))[:4000],
            "file": _text(record.get("file")),
            "line": _line(record.get("line")),
        }
        with contextlib.suppress(BaseException):
            self._sock.sendall(protocol.encode(frame))
        os._exit(0)


def worker_main(sock: socket.socket, containment: Any = None) -> NoReturn:
    """Serves one run on ``sock`` and exits the process.

    When the function used up the memory, reporting may not be able to allocate anything: the
    answer is then a frame made in advance, or (if even sending it fails) an exit code the runner
    reads as ``resource_exhausted``.
    """
    code = 0
    frame = _OUT_OF_MEMORY
    # Everything the worker inherited from the warm parent is left out of the collector's
    # passes (a constant-time move): a full collection during a run walked that whole heap,
    # writing to each object's header (copy-on-write faults), 30 ms of a 20,000-record sync.
    freeze_heap()
    try:
        message = protocol.recv(sock)
        result = serve(sock, message, containment)
        frame = _frame(result, str(message.get("mode") or "run"))
    except MemoryError:
        code = protocol.EXIT_OUT_OF_MEMORY
    except BaseException as exc:
        code = 70
        with contextlib.suppress(BaseException):  # else the answer made in advance goes
            # No traceback: it would show the runner's own files to the function's author.
            name = type(exc).__name__
            failure = RunFailure("runner_error", f"internal error in the worker ({name})")
            frame = protocol.encode(_done_error(failure))
    with contextlib.suppress(BaseException):  # nothing left to tell: the exit code says it
        sock.sendall(frame)
        code = 0 if code == protocol.EXIT_OUT_OF_MEMORY else code
    os._exit(code)


def serve(sock: socket.socket, message: Mapping[str, Any], containment: Any) -> dict[str, Any]:
    """Runs the message's function and returns the ``done`` message."""
    if containment is not None:
        containment(message.get("limits") or {})
    sandbox.reset_run_state()
    sandbox.set_violation_reporter(_ViolationReporter(sock))
    _reserve[:] = [bytes(_RESERVE_BYTES)]
    files: dict[str, str] = dict(message.get("files") or {})
    program: Any = None
    try:
        if message.get("mode") == "describe":
            context = RunContext.from_wire(message.get("context") or {})
            described = _describe_all(files, context.legacy_by_file)
            output = to_json_value(described, error_type="invalid_definition", what="a definition")
        elif message.get("mode") == "compile":
            program = sandbox.compile_program(files, str(message.get("entry")))
            output = _encoded_codes(program)
        else:
            program = _program(files, str(message.get("entry")), message.get("compiled"))
            output = _run(program, message, _Channel(sock, _max_frame(message)))
        _check_violations()
        return {"op": "done", "ok": True, "output": output}
    except BaseException as exc:
        _reserve.clear()
        return _done_error(_report(exc, program))


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


def _check_violations() -> None:
    failure = _violation_failure()
    if failure is not None:
        raise failure


def _violation_failure() -> RunFailure | None:
    found = sandbox.violations()
    if not found:
        return None
    first = found[0]
    return RunFailure(
        "sandbox_violation",
        "the function broke a sandbox rule (even if it caught the error): "
        + str(first.get("message")),
        payload={"violations": found[:20]},
        file=str(first.get("file") or ""),
        line=int(first.get("line") or 0),
    )


def _report(exc: BaseException, program: Any) -> RunFailure:
    """The failure a run that raised ``exc`` ends with.

    A recorded violation wins over whatever the code raised after catching it (an ActionError,
    a NangoError of its own making...): a violation always fails the run as one.
    """
    failure = _failure_of(exc, program)
    if type(exc) is SandboxViolation:
        return failure
    return _violation_failure() or failure


def _failure_of(exc: BaseException, program: Any) -> RunFailure:
    """``_to_failure``, also when reading the error runs customer code that raises (the
    ``__str__`` of its exception, a generator as an ActionError payload, an HttpError subclass's
    ``payload``)."""
    try:
        return _to_failure(exc, program)
    except MemoryError:  # the answer made in advance says so (worker_main)
        raise
    except BaseException as error:  # customer code may raise anything here
        file, line = sandbox.locate_error(exc, program) if program is not None else ("", 0)
        return RunFailure(
            "script_internal_error",
            f"the function raised {_name(exc)}, and reading that error raised {_name(error)}",
            file=file,
            line=line,
        )


def _name(exc: BaseException) -> str:
    return _text(type(exc).__name__) or "an exception"


def _run(program: Any, message: Mapping[str, Any], channel: _Channel) -> Any:
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


DRY_RUN_LEGACY_SYNC: Mapping[str, Any] = {"frequency": "every day"}
"""A legacy sync script's configuration in a run that has none: a dry run's. A deploy refuses a
legacy sync without its configuration, so every deployed one runs with its own; a dry run needs
none. The frequency is never used by a run; no models are named, so the script may save
records of any model, as its ``batch_save`` calls name them."""


def find_definition(namespace: Mapping[str, Any], legacy: Any = None) -> Definition:
    """The one definition a function module binds (or a legacy script's entry, configured;
    a legacy sync without configuration runs with ``DRY_RUN_LEGACY_SYNC``)."""
    definition, _ = _find(namespace, legacy, unconfigured_sync=DRY_RUN_LEGACY_SYNC)
    if definition is None:
        raise RunFailure(
            "invalid_definition",
            "no function defined: bind the result of create_sync, create_action or "
            "create_on_event (or define fetch_data / run_action for a legacy script)",
        )
    return definition


def _find(
    namespace: Mapping[str, Any],
    legacy: Any,
    unconfigured_sync: Mapping[str, Any] | None = None,
) -> tuple[Definition | None, bool]:
    """The module's definition (None for a helper module) and whether it is a legacy script.

    ``unconfigured_sync`` is the configuration of a legacy sync given none (None: refused)."""
    found = [
        v
        for v in namespace.values()
        if isinstance(v, SyncDefinition | ActionDefinition | OnEventDefinition)
    ]
    unique = list({id(v): v for v in found}.values())
    if len(unique) > 1:
        raise RunFailure("invalid_definition", "a function file must define exactly one function")
    if unique:
        return unique[0], False
    return _legacy(namespace, legacy, unconfigured_sync), True


def _legacy(
    namespace: Mapping[str, Any], legacy: Any, unconfigured_sync: Mapping[str, Any] | None
) -> Definition | None:
    """A legacy script: a plain ``fetch_data(nango)`` or ``run_action(nango, input)``."""
    config = dict(legacy) if isinstance(legacy, Mapping) else None
    fetch, act = namespace.get("fetch_data"), namespace.get("run_action")
    inferred = "sync" if callable(fetch) else "action" if callable(act) else ""
    if config is None and not inferred:
        return None  # a helper module, imported by the functions
    kind = str((config or {}).get("kind") or inferred)
    if kind not in ("sync", "action"):
        raise RunFailure("invalid_definition", "a legacy script's kind is 'sync' or 'action'")
    entry = fetch if kind == "sync" else act
    if not callable(entry):
        wanted = "fetch_data(nango)" if kind == "sync" else "run_action(nango, input)"
        raise RunFailure("invalid_definition", f"a legacy {kind} script defines {wanted}")
    if config is None and kind == "sync" and unconfigured_sync is not None:
        config = dict(unconfigured_sync)
    if config is None and kind == "sync":
        raise RunFailure(
            "invalid_definition",
            "a legacy sync script (fetch_data) needs its configuration at deploy, at least "
            'its frequency: corral deploy --legacy-config with {"<file>.py": {"kind": "sync", '
            '"frequency": "every hour"}}',
        )
    return legacy_definition(entry, kind, config or {})


def _describe_all(
    files: Mapping[str, str], legacy: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(files):
        if name.endswith(".py"):
            described = _describe_file(files, name, legacy.get(name))
            if described is not None:
                out[name] = described
    return out


def _describe_file(files: Mapping[str, str], name: str, legacy: Any) -> dict[str, Any] | None:
    """One file's definition, described; None for a helper module.

    An error while loading the file (an invalid frequency, an unknown field, ...) fails the
    deploy naming this file and the line of the faulty call.
    """
    program = sandbox.compile_program(files, name)
    try:
        definition, is_legacy = _find(program.load(SDK_MODULE), legacy)
        if definition is None:
            return None
        return describe(definition) | ({"legacy": True} if is_legacy else {})
    except BaseException as exc:
        failure = _failure_of(exc, program)
        if not failure.file:
            failure.file, failure.line = name, 0
        raise failure from None


def _to_failure(exc: BaseException, program: Any) -> RunFailure:
    file, line = sandbox.locate_error(exc, program) if program is not None else ("", 0)
    if isinstance(exc, RunFailure):
        if not exc.file and file:
            exc.file, exc.line = file, line
        return exc
    if isinstance(exc, CompileError):
        return RunFailure("compile_error", exc.message, payload=exc.details.get("errors"))
    if isinstance(exc, ActionError):
        try:
            payload = to_json_value(exc.payload, error_type="action_script_failure", what="payload")
        except RunFailure as bad:
            return RunFailure("action_script_failure", bad.message, file=file, line=line)
        if payload is not None and not isinstance(payload, dict):
            payload = {"message": payload}  # the seed's shape for a string, number or list
        return RunFailure(
            "action_script_failure",
            "the action raised ActionError",
            payload=payload,
            file=file,
            line=line,
        )
    if isinstance(exc, HttpError):
        return RunFailure(
            "script_http_error", str(exc), payload=exc.payload(), file=file, line=line
        )
    if isinstance(exc, MemoryError):
        return RunFailure(
            "resource_exhausted",
            "the run ran out of memory",
            payload={"resource": "memory"},
            file=file,
            line=line,
        )
    if isinstance(exc, RecursionError):
        return RunFailure(
            "resource_exhausted",
            "maximum recursion depth exceeded",
            payload={"resource": "recursion"},
            file=file,
            line=line,
        )
    if isinstance(exc, pydantic.ValidationError):
        return RunFailure(
            "script_internal_error",
            f"validation failed: {exc.error_count()} errors",
            payload=exc.errors(include_url=False, include_input=False, include_context=False),
            file=file,
            line=line,
        )
    return RunFailure("script_internal_error", f"{type(exc).__name__}: {exc}", file=file, line=line)


def _done_error(failure: RunFailure) -> dict[str, Any]:
    """The ``done`` message of a failure, with fields of their types whatever the function put
    in them (a subclass of NangoError, or NangoError itself, can hold anything)."""
    try:
        value = ErrorValue(
            _text(failure.code) or "script_internal_error",
            _text(failure.message)[:4000],
            payload=_strict_json(failure.payload),
            file=_text(failure.file),
            line=_line(failure.line),
        )
    except MemoryError:  # the answer made in advance says so (worker_main)
        raise
    except BaseException:  # a property of a customer subclass raised
        value = ErrorValue(
            "script_internal_error", "the function raised an error that cannot be read"
        )
    return {"op": "done", "ok": False, "error": to_json(value)}


def _frame(done: dict[str, Any], mode: str) -> bytes:
    """The frame of the ``done`` message: a result that is not strict JSON (NaN, Infinity, a
    lone surrogate) fails the run with a typed error instead of the worker."""
    try:
        return protocol.encode(done)
    except _NOT_JSON as exc:
        code = "invalid_definition" if mode == "describe" else "invalid_action_output"
        if not done.get("ok"):
            code = "script_internal_error"
        failure = RunFailure(code, f"the function's result is not valid JSON ({_reason(exc)})")
        return protocol.encode(_done_error(failure))


def _text(value: Any) -> str:
    """A string as the protocol can carry it (lone surrogates replaced), or "" for a non-string."""
    if not isinstance(value, str):
        return ""
    return str.encode(value, "utf-8", "replace").decode("utf-8")


def _line(value: Any) -> int:
    return value if type(value) is int and 0 <= value <= _MAX_LINE else 0


def _strict_json(value: Any) -> Any:
    """``value`` as JSON-able data that encodes as strict JSON, or None."""
    try:
        data = to_json_value(value, error_type="script_internal_error", what="a payload")
        protocol.encode({"payload": data})
    except MemoryError:  # the answer made in advance says so (worker_main)
        raise
    except BaseException:  # customer code (a generator, a model) may raise anything
        return None
    return data


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "a string holds a lone surrogate"
    if isinstance(exc, ValueError) and "float" in str(exc):
        return "NaN or Infinity"
    return _text(str(exc))[:200]


_OUT_OF_MEMORY = protocol.encode(
    _done_error(
        RunFailure(
            "resource_exhausted", "the run ran out of memory", payload={"resource": "memory"}
        )
    )
)
"""The answer when the function used up the memory, made before it runs."""
