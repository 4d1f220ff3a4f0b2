"""What ``create_sync``, ``create_action`` and ``create_on_event`` make, and ``ActionError``.

These objects live in the worker only. A function module binds one of them; the worker finds it
after loading the module and calls its ``exec``. Every field of the seed's ``createSync``,
``createAction`` and ``createOnEvent`` is accepted (the deprecated ones too) and checked here,
so that a wrong definition fails the deploy with ``invalid_definition`` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pydantic

from corral._frequency import parse_frequency
from corral.errors import RunFailure
from runner.worker._values import to_json_value

EVENTS = ("post-connection-creation", "pre-connection-deletion", "validate-connection")
SYNC_TYPES = ("full", "incremental")


class NangoType(Protocol):
    """The type of the ``nango`` argument, for annotations: ``from nango import Nango``.

    Only a name at run time; its methods are typed in the ``nango`` stubs (``nango-stubs``).
    """


class ActionError(Exception):
    """Raised by a function to return a descriptive error to the caller.

    The caller receives ``{"error_type": "action_script_failure", "payload": payload}``.
    """

    def __init__(self, payload: Any = None) -> None:
        super().__init__(payload)
        self.payload = payload


@dataclass(frozen=True)
class SyncDefinition:
    """A sync, as ``create_sync`` made it (``track_deletes``, ``endpoints`` and ``sync_type``
    are deprecated and only recorded)."""

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
    sync_type: str = ""

    kind = "sync"


@dataclass(frozen=True)
class ActionDefinition:
    """An action, as ``create_action`` made it (``endpoint`` is deprecated, only recorded)."""

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


def _text(value: Any, name: str) -> None:
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string, not {type(value).__name__}")


def _flag(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise _invalid(f"{name} must be True or False, not {value!r}")


def _strings(value: Any, name: str) -> None:
    if value is None:
        return
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _invalid(f"{name} must be a list of strings")
    for item in value:
        _text(item, f"each of {name}")


def _model(value: Any, name: str) -> None:
    if value is None or (isinstance(value, type) and issubclass(value, pydantic.BaseModel)):
        return
    raise _invalid(f"{name} must be a pydantic BaseModel subclass or None, not {value!r}")


def _callable(value: Any, name: str) -> None:
    if value is not None and not callable(value):
        raise _invalid(f"{name} must be a function")


def _models(value: Any, name: str) -> None:
    if not isinstance(value, Mapping):
        raise _invalid(f"{name} must be a dict of model name -> pydantic model")
    for key, model in value.items():
        if not isinstance(key, str) or not key:
            raise _invalid(f"{name}: each model name must be a non-empty string")
        _model(model, f"model {key!r}")


def _json(value: Any, name: str) -> None:
    to_json_value(value, error_type="invalid_definition", what=name)


def _frequency(value: Any, name: str) -> None:
    del name
    parse_frequency(value)


def _sync_type(value: Any, name: str) -> None:
    if value not in ("", *SYNC_TYPES):
        raise _invalid(f"{name} must be one of {', '.join(SYNC_TYPES)}")


Check = Callable[[Any, str], None]
_COMMON: dict[str, Check] = {"description": _text, "version": _text, "metadata": _model}
_SYNC_FIELDS: dict[str, Check] = _COMMON | {
    "frequency": _frequency,
    "auto_start": _flag,
    "models": _models,
    "checkpoint": _model,
    "on_webhook": _callable,
    "webhook_subscriptions": _strings,
    "scopes": _strings,
    "track_deletes": _flag,
    "endpoints": _json,
    "sync_type": _sync_type,
}
_ACTION_FIELDS: dict[str, Check] = _COMMON | {
    "input": _model,
    "output": _model,
    "scopes": _strings,
    "endpoint": _json,
}
_ON_EVENT_FIELDS: dict[str, Check] = _COMMON


def _check(what: str, exec: Any, options: Mapping[str, Any], fields: Mapping[str, Check]) -> None:
    if not callable(exec):
        raise _invalid(f"{what}: 'exec' must be a function")
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise _invalid(
            f"{what}: unknown field(s) {', '.join(unknown)}; "
            f"the fields are {', '.join(sorted({'exec', *fields}))}"
        )
    for name, value in options.items():
        fields[name](value, name)


def create_sync(*, exec: Callable[..., Any], **options: Any) -> SyncDefinition:
    """Defines a sync (the seed's ``createSync``).

    ``frequency`` is required (``"every hour"``, ``"every 2 days"``, ... at least 30 seconds);
    ``auto_start`` defaults to True; ``models`` maps model names to pydantic models.

    Raises:
        RunFailure: ``invalid_definition`` naming the wrong field.
    """
    if "frequency" not in options:
        raise _invalid("create_sync: 'frequency' is required, such as frequency='every hour'")
    _check("create_sync", exec, options, _SYNC_FIELDS)
    return SyncDefinition(exec=exec, **options)


def create_action(*, exec: Callable[..., Any], **options: Any) -> ActionDefinition:
    """Defines an action (the seed's ``createAction``); ``exec(nango, input)``.

    Raises:
        RunFailure: ``invalid_definition`` naming the wrong field.
    """
    _check("create_action", exec, options, _ACTION_FIELDS)
    return ActionDefinition(exec=exec, **options)


def create_on_event(*, exec: Callable[..., Any], event: str, **options: Any) -> OnEventDefinition:
    """Defines an on-event function (the seed's ``createOnEvent``).

    Raises:
        RunFailure: ``invalid_definition`` naming the wrong field or event.
    """
    if event not in EVENTS:
        raise _invalid(f"create_on_event: event must be one of {', '.join(EVENTS)}")
    _check("create_on_event", exec, options, _ON_EVENT_FIELDS)
    return OnEventDefinition(exec=exec, event=event, **options)


def _event(value: Any, name: str) -> None:
    if value not in EVENTS:
        raise _invalid(f"create_on_event: {name} must be one of {', '.join(EVENTS)}")


_FIELDS_OF: dict[str, Mapping[str, Check]] = {
    "create_sync": _SYNC_FIELDS,
    "create_action": _ACTION_FIELDS,
    "create_on_event": _ON_EVENT_FIELDS | {"event": _event},
}
_REQUIRED = {"create_sync": "frequency", "create_on_event": "event"}


def check_source_options(creator: str, names: Collection[str], literals: Mapping[str, Any]) -> None:
    """The checks ``creator`` (``create_sync``, ...) makes, on a definition as its source shows
    it, before anything runs (``corral compile``): ``names`` are the keyword arguments given
    (``exec`` aside), ``literals`` the values of those written as literals.

    Raises:
        RunFailure: ``invalid_definition``: a required field missing, an unknown field, or a
            literal value the field refuses (a frequency that does not parse, ...).
    """
    fields = _FIELDS_OF[creator]
    options = set(names) - {"exec"}
    required = _REQUIRED.get(creator)
    if required and required not in options:
        raise _invalid(f"{creator}: {required!r} is required")
    unknown = sorted(options - set(fields))
    if unknown:
        raise _invalid(
            f"{creator}: unknown field(s) {', '.join(unknown)}; "
            f"the fields are {', '.join(sorted({'exec', *fields}))}"
        )
    for name, value in literals.items():
        if name in fields:
            fields[name](value, name)


def legacy_definition(
    entry: Callable[..., Any], kind: str, config: Mapping[str, Any]
) -> SyncDefinition | ActionDefinition:
    """The definition of a legacy script, from the configuration given at deploy.

    ``config`` holds the same fields as ``create_sync`` / ``create_action`` (minus ``exec``)
    plus ``kind``; ``models`` is a list of model names (records are not validated).

    Raises:
        RunFailure: ``invalid_definition`` for a wrong or missing field.
    """
    options = {k: v for k, v in config.items() if k != "kind"}
    models = options.get("models")
    if isinstance(models, list):
        _strings(models, "models")
        options["models"] = dict.fromkeys(models)
    if kind == "sync":
        return create_sync(exec=entry, **options)
    return create_action(exec=entry, **options)


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
            "frequency_seconds": parse_frequency(definition.frequency),
            "auto_start": definition.auto_start,
            "models": {name: model_schema(m) for name, m in definition.models.items()},
            "checkpoint": model_schema(definition.checkpoint),
            "webhook_subscriptions": list(definition.webhook_subscriptions or []),
            "has_webhook_handler": definition.on_webhook is not None,
            "scopes": list(definition.scopes),
            "track_deletes": definition.track_deletes,
            "sync_type": definition.sync_type,
            "endpoints": to_json_value(
                definition.endpoints, error_type="invalid_definition", what="endpoints"
            ),
        }
    elif isinstance(definition, ActionDefinition):
        out |= {
            "input": model_schema(definition.input),
            "output": model_schema(definition.output),
            "scopes": list(definition.scopes),
            "endpoint": to_json_value(
                definition.endpoint, error_type="invalid_definition", what="endpoint"
            ),
        }
    else:
        out["event"] = definition.event
    return out
