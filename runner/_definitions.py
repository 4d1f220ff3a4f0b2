"""What ``create_sync``, ``create_action`` and ``create_on_event`` make, and ``ActionError``.

These objects live in the worker only. A function module binds one of them; the worker finds it
after loading the module and calls its ``exec``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic

from corral.errors import RunFailure

EVENTS = ("post-connection-creation", "pre-connection-deletion", "validate-connection")


class ActionError(Exception):
    """Raised by a function to return a descriptive error to the caller.

    The caller receives ``{"error_type": "action_script_failure", "payload": payload}``.
    """

    def __init__(self, payload: Any = None) -> None:
        super().__init__(payload)
        self.payload = payload


@dataclass(frozen=True)
class SyncDefinition:
    """A sync, as ``create_sync`` made it."""

    exec: Callable[..., Any]
    description: str = ""
    version: str = ""
    frequency: str = ""
    auto_start: bool = True
    models: Mapping[str, Any] = field(default_factory=dict)
    checkpoint: Any = None
    metadata: Any = None
    on_webhook: Callable[..., Any] | None = None
    webhook_subscriptions: Sequence[str] | None = None
    scopes: Sequence[str] = ()
    track_deletes: bool = False
    endpoints: Any = None

    kind = "sync"


@dataclass(frozen=True)
class ActionDefinition:
    """An action, as ``create_action`` made it."""

    exec: Callable[..., Any]
    description: str = ""
    version: str = ""
    input: Any = None
    output: Any = None
    metadata: Any = None
    scopes: Sequence[str] = ()
    endpoint: Any = None

    kind = "action"


@dataclass(frozen=True)
class OnEventDefinition:
    """An on-event function, as ``create_on_event`` made it."""

    exec: Callable[..., Any]
    event: str
    description: str = ""
    version: str = ""
    metadata: Any = None

    kind = "on_event"


Definition = SyncDefinition | ActionDefinition | OnEventDefinition


def _invalid(message: str) -> RunFailure:
    return RunFailure("invalid_definition", message)


def _require_exec(value: Any, name: str) -> None:
    if not callable(value):
        raise _invalid(f"{name}: 'exec' must be a function")


def _require_model(value: Any, what: str) -> None:
    if value is None or (isinstance(value, type) and issubclass(value, pydantic.BaseModel)):
        return
    raise _invalid(f"{what} must be a pydantic BaseModel subclass or None, not {value!r}")


def create_sync(*, exec: Callable[..., Any], **options: Any) -> SyncDefinition:
    """Defines a sync (see the seed's ``createSync``)."""
    _require_exec(exec, "create_sync")
    options.setdefault("auto_start", True)
    for name, model in dict(options.get("models") or {}).items():
        _require_model(model, f"model {name!r}")
    _require_model(options.get("checkpoint"), "checkpoint")
    try:
        return SyncDefinition(exec=exec, **options)
    except TypeError as exc:
        raise _invalid(f"create_sync: {exc}") from None


def create_action(*, exec: Callable[..., Any], **options: Any) -> ActionDefinition:
    """Defines an action (see the seed's ``createAction``)."""
    _require_exec(exec, "create_action")
    _require_model(options.get("input"), "input")
    _require_model(options.get("output"), "output")
    try:
        return ActionDefinition(exec=exec, **options)
    except TypeError as exc:
        raise _invalid(f"create_action: {exc}") from None


def create_on_event(*, exec: Callable[..., Any], event: str, **options: Any) -> OnEventDefinition:
    """Defines an on-event function (see the seed's ``createOnEvent``)."""
    _require_exec(exec, "create_on_event")
    if event not in EVENTS:
        raise _invalid(f"create_on_event: event must be one of {', '.join(EVENTS)}")
    try:
        return OnEventDefinition(exec=exec, event=event, **options)
    except TypeError as exc:
        raise _invalid(f"create_on_event: {exc}") from None


def model_schema(model: Any) -> Any:
    """The JSON schema of a pydantic model class, or None."""
    if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
        return {"name": model.__name__, "schema": model.model_json_schema()}
    return None


def describe(definition: Definition) -> dict[str, Any]:
    """The definition as JSON-able configuration, for the deploy record."""
    out: dict[str, Any] = {
        "kind": definition.kind,
        "description": definition.description,
        "version": definition.version,
        "metadata": model_schema(definition.metadata),
    }
    if isinstance(definition, SyncDefinition):
        out |= {
            "frequency": definition.frequency,
            "auto_start": definition.auto_start,
            "models": {name: model_schema(m) for name, m in definition.models.items()},
            "checkpoint": model_schema(definition.checkpoint),
            "webhook_subscriptions": list(definition.webhook_subscriptions or []),
            "has_webhook_handler": definition.on_webhook is not None,
            "scopes": list(definition.scopes),
            "track_deletes": definition.track_deletes,
        }
    elif isinstance(definition, ActionDefinition):
        out |= {
            "input": model_schema(definition.input),
            "output": model_schema(definition.output),
            "scopes": list(definition.scopes),
        }
    else:
        out["event"] = definition.event
    return out
