"""The runner: a host that runs each run in a fresh worker, and the SDK given to functions.

Besides the host and the SDK, the names the command line needs: ``run_runner`` (``corral
runner``), and what an offline dry run is built from (``make_containment``, ``warm``,
``GrpcCallbackHandler``, the SDK module's names ``SDK_MODULE``).
"""

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
from runner.worker._worker import SDK_MODULE

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
