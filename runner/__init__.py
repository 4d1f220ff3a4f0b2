"""The runner: a host that runs each run in a fresh worker, and the SDK given to functions."""

from runner._definitions import (
    ActionDefinition,
    ActionError,
    OnEventDefinition,
    SyncDefinition,
    create_action,
    create_on_event,
    create_sync,
)
from runner._forward import GrpcCallbackHandler
from runner._host import CallbackHandler, Job, Outcome, RunnerHost
from runner._response import HttpError, NangoError, Response
from runner._sdk import Nango

__all__ = [
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
    "RunnerHost",
    "SyncDefinition",
    "create_action",
    "create_on_event",
    "create_sync",
]
