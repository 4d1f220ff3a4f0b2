"""The runner: a host that runs each run in a fresh worker, and the SDK given to functions.

Besides the host and the SDK, the names the command line needs: ``run_runner`` (``corral
runner``), and what an offline dry run is built from (``make_containment``, ``warm``,
``GrpcCallbackHandler``, the SDK module's names ``SDK_MODULE``).

Every name is imported when it is first used (PEP 562): the runner host process
(``runner._main``) imports only its own modules, never the SDK, pydantic or the sandbox's
language layer, which its workers import after the warm parent is forked (docs/runtime.md,
"The runner host's memory").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral._lazy import lazy_exports

if TYPE_CHECKING:
    from runner._context import RunContext
    from runner._main import run_runner
    from runner.host._containment import make_containment
    from runner.host._forward import GrpcCallbackHandler
    from runner.host._host import Job, Outcome, RunnerHost
    from runner.host._run_calls import CallbackHandler
    from runner.host._warm import warm
    from runner.sdk._definitions import (
        ActionDefinition,
        ActionError,
        OnEventDefinition,
        SyncDefinition,
        check_source_options,
        create_action,
        create_on_event,
        create_sync,
    )
    from runner.sdk._nango import Nango
    from runner.sdk._response import HttpError, NangoError, Response
    from runner.worker._find_definition import SDK_MODULE

_WHERE = {
    "RunContext": "runner._context",
    "run_runner": "runner._main",
    "make_containment": "runner.host._containment",
    "GrpcCallbackHandler": "runner.host._forward",
    "Job": "runner.host._host",
    "Outcome": "runner.host._host",
    "RunnerHost": "runner.host._host",
    "CallbackHandler": "runner.host._run_calls",
    "warm": "runner.host._warm",
    "ActionDefinition": "runner.sdk._definitions",
    "ActionError": "runner.sdk._definitions",
    "OnEventDefinition": "runner.sdk._definitions",
    "SyncDefinition": "runner.sdk._definitions",
    "check_source_options": "runner.sdk._definitions",
    "create_action": "runner.sdk._definitions",
    "create_on_event": "runner.sdk._definitions",
    "create_sync": "runner.sdk._definitions",
    "Nango": "runner.sdk._nango",
    "HttpError": "runner.sdk._response",
    "NangoError": "runner.sdk._response",
    "Response": "runner.sdk._response",
    "SDK_MODULE": "runner.worker._find_definition",
}
"""The module of each public name."""

__all__ = [
    "SDK_MODULE",
    "ActionDefinition",
    "ActionError",
    "CallbackHandler",
    "GrpcCallbackHandler",
    "HttpError",
    "Job",
    "Nango",
    "NangoError",
    "OnEventDefinition",
    "Outcome",
    "Response",
    "RunContext",
    "RunnerHost",
    "SyncDefinition",
    "check_source_options",
    "create_action",
    "create_on_event",
    "create_sync",
    "make_containment",
    "run_runner",
    "warm",
]


__getattr__ = lazy_exports(__name__, _WHERE)
