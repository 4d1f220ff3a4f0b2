"""The definition a function module binds (``create_sync``, ``create_action``,
``create_on_event``, or a legacy script's entry), and the description of a deploy's files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sandbox
from corral.errors import RunFailure
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
from runner.sdk._response import HttpError, NangoError, Response
from runner.worker._failures import failure_of

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


def describe_all(
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
        failure = failure_of(exc, program)
        if not failure.file:
            failure.file, failure.line = name, 0
        raise failure from None
