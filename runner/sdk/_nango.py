"""The ``nango`` object given to function code: every method is a call to the orchestrator.

Only public methods and ``variant`` are reachable from function code (the sandbox refuses names
beginning with ``_``). The channel, the run token and the orchestrator never appear here: the
worker holds only a function that sends one SDK call over its pipe and returns the reply.

The run's typed context (``runner._context.RunContext``, from the orchestrator) sets what the
object does beyond the calls: ``variant``; ``log_level`` (the environment's default logger
level); ``validate`` (False turns off validation against the function's models: records,
checkpoints, action input and output); ``paginate_defaults`` (the provider's pagination
settings, merged under each call's own).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from corral.errors import RunFailure
from runner._context import LOG_LEVELS, RunContext
from runner.sdk._paginate import paginate_pages
from runner.sdk._request_config import merge_config, proxy_args
from runner.sdk._response import HttpError, Response
from runner.sdk._scalars import flag, key, optional_text, strings, text
from runner.worker._values import json_values_at_once, to_json_value, validate_with

Call = Callable[[str, dict[str, Any]], Any]

MAX_LOG_MESSAGE = 64 * 1024
"""Characters of one log message kept; the rest is cut (the orchestrator cuts there too)."""
RECORDS_PER_CALL = 1000
"""Records sent per call: a larger list is sent in chunks, so no message grows past limits."""
IDS_PER_CALL = 1000
"""Ids asked for per ``get_records_by_id`` call."""
MAX_CHECKPOINT_BYTES = 64 * 1024
"""The largest checkpoint, as JSON."""


class Nango:
    """The SDK object of one run (see DESIGN.md, "The function authoring API")."""

    def __init__(
        self,
        call: Call,
        context: RunContext,
        models: Mapping[str, Any] | None = None,
        checkpoint_model: Any = None,
    ) -> None:
        self.__call = call
        self.__variant = context.variant
        self.__checkpoint_model = checkpoint_model
        self.__models = dict(models or {})
        self.__validate = context.validate
        self.__paginate_defaults: dict[str, Any] = dict(context.paginate_defaults)
        level = context.log_level
        self.__level = LOG_LEVELS.index(level if level in LOG_LEVELS else "info")

    @property
    def variant(self) -> str:
        """The sync variant this run is for ("base" when none)."""
        return self.__variant

    # ---- HTTP ----

    def proxy(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """Sends a request through the orchestrator's proxy; raises HttpError on non-2xx.

        The config is a dict or keyword arguments: ``endpoint`` (required), ``method``,
        ``headers``, ``params``, ``data``, ``retries``, ``retry_on``, ``base_url_override``,
        ``decompress``, ``response_type``.
        """
        merged = merge_config(config, options)
        return self.__send(merged["method"], merged)

    def get(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """GET request (see ``proxy``)."""
        return self.__send("GET", merge_config(config, options))

    def post(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """POST request (see ``proxy``)."""
        return self.__send("POST", merge_config(config, options))

    def put(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """PUT request (see ``proxy``)."""
        return self.__send("PUT", merge_config(config, options))

    def patch(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """PATCH request (see ``proxy``)."""
        return self.__send("PATCH", merge_config(config, options))

    def delete(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """DELETE request (see ``proxy``)."""
        return self.__send("DELETE", merge_config(config, options))

    def paginate(self, config: Mapping[str, Any] | None = None, **options: Any) -> Iterator[Any]:
        """Pages of results: the call's ``paginate`` settings over the provider's defaults."""
        merged = merge_config(config, options)
        merged["paginate"] = self.__paginate_defaults | dict(merged.get("paginate") or {})
        method = merged["method"]
        return paginate_pages(lambda cfg: self.__send(method, cfg), merged)

    def __send(self, method: str, config: dict[str, Any]) -> Response:
        reply = self.__call("proxy", proxy_args(method, config))
        response = Response.from_reply(reply, config)
        if not 200 <= response.status < 300:
            raise HttpError(response)
        return response

    # ---- logging ----

    def log(self, message: Any, *meta: Any, level: str | None = None) -> None:
        """Logs a message for this run, if its level is at or above the logger's level.

        The level is ``level=``, or (as in the seed) a last argument ``{"level": "warn"}``;
        the default is ``info``. Other arguments are kept with the line as JSON.
        """
        extra = list(meta)
        if level is None and extra and isinstance(extra[-1], Mapping) and "level" in extra[-1]:
            level = extra.pop()["level"]
        level = optional_text(level, "level", "info")
        if level not in LOG_LEVELS[:-1]:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS[:-1])}")
        if LOG_LEVELS.index(level) < self.__level:
            return
        line = text(message, "a message") if isinstance(message, str) else _json_text(message)
        meta_json = [_jsonable(m) for m in extra]
        self.__call("log", {"level": level, "message": line[:MAX_LOG_MESSAGE], "meta": meta_json})

    def set_logger(self, level: str = "info") -> None:
        """Sets the lowest level ``log`` records from now on ("off" records nothing)."""
        level = text(level, "level")
        if level not in LOG_LEVELS:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS)}")
        self.__level = LOG_LEVELS.index(level)

    # ---- connection, integration, environment ----

    def get_environment_variables(self) -> list[dict[str, str]]:
        """The environment's variables as ``[{"name", "value"}]``."""
        return list(self.__call("get_environment_variables", {}))

    def get_connection(
        self,
        provider_config_key_override: str | None = None,
        connection_id_override: str | None = None,
        *,
        force_refresh: bool = False,
        refresh_token: bool = False,
        refresh_github_app_jwt_token: bool = False,
    ) -> dict[str, Any]:
        """This run's connection, with credentials (refreshed when they expire soon).

        Args:
            provider_config_key_override: the seed's parameter: the integration to read; a run
                reaches its own only, so naming another is refused.
            connection_id_override: likewise, the connection to read.
            force_refresh: refresh an OAuth2 token now, even if it is far from expiring.
            refresh_token: include the refresh token in the answer.
            refresh_github_app_jwt_token: accepted, nothing to refresh in corral.

        Raises:
            NangoError: ``connection_override_refused`` for an override naming another
                integration or connection than the run's (the orchestrator decides).
        """
        args = {
            "provider_config_key_override": _override(provider_config_key_override),
            "connection_id_override": _override(connection_id_override),
            "force_refresh": flag(force_refresh, "force_refresh"),
            "refresh_token": flag(refresh_token, "refresh_token"),
            "refresh_github_app_jwt_token": flag(
                refresh_github_app_jwt_token, "refresh_github_app_jwt_token"
            ),
        }
        return dict(self.__call("get_connection", args))

    def get_integration(self, include: Sequence[str] | None = None) -> dict[str, Any]:
        """The integration; with ``include=["credentials"]`` its OAuth client too."""
        return dict(self.__call("get_integration", {"include": strings(include, "include")}))

    def get_metadata(self) -> dict[str, Any]:
        """The connection's metadata."""
        return dict(self.__call("get_metadata", {}) or {})

    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Replaces the connection's metadata."""
        self.__call("set_metadata", {"metadata": _object(metadata, "metadata")})

    def update_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Merges keys into the connection's metadata (top level)."""
        self.__call("update_metadata", {"metadata": _object(metadata, "metadata")})

    def trigger_action(self, action_name: str, input: Any = None) -> Any:
        """Runs another action of this integration for this connection; returns its output.

        Raises:
            NangoError: the nested run failed; ``type`` and ``payload`` are its error's
                (``action_script_failure`` with the ActionError's payload, ...).
        """
        name = text(action_name, "an action's name")
        return self.__call("trigger_action", {"name": name, "input": _jsonable(input)})

    # ---- checkpoints ----

    def get_checkpoint(self) -> dict[str, Any] | None:
        """The saved checkpoint (a dict), or None on a first run or after a reset."""
        value = self.__call("get_checkpoint", {})
        return dict(value) if isinstance(value, Mapping) else None

    def save_checkpoint(self, checkpoint: Any) -> None:
        """Saves progress; validated against the sync's ``checkpoint`` model.

        Raises:
            RunFailure: ``invalid_checkpoint`` for a value that does not match the model, is
                not a flat object of strings, numbers, booleans and nulls, or is too large.
        """
        value = checkpoint
        if self.__validate:
            value = validate_with(
                self.__checkpoint_model,
                checkpoint,
                error_type="invalid_checkpoint",
                what="checkpoint",
            )
        data = to_json_value(value, error_type="invalid_checkpoint", what="checkpoint")
        self.__call("save_checkpoint", {"checkpoint": _flat_checkpoint(data)})

    def clear_checkpoint(self) -> None:
        """Clears the checkpoint, so the next run starts from the beginning."""
        self.__call("clear_checkpoint", {})

    # ---- records ----

    def batch_save(self, records: Sequence[Any], model: str) -> bool:
        """Upserts records of a model by ``id`` (validated against the model)."""
        model = self.__model(model)  # as every record call checks it, validation on or off
        data = self.__records(_sequence(records), model)
        for chunk in _chunks(data, RECORDS_PER_CALL):
            self.__call("batch_save", {"model": model, "records": chunk})
        return True

    def batch_delete(self, records: Sequence[Any], model: str) -> bool:
        """Marks records of a model as deleted (soft); only ``id`` is read."""
        model = self.__model(model)
        ids = [_record_id(_json_record(r)) for r in _sequence(records)]
        for chunk in _chunks([{"id": i} for i in ids], RECORDS_PER_CALL):
            self.__call("batch_delete", {"model": model, "records": chunk})
        return True

    def batch_update(self, records: Sequence[Any], model: str) -> bool:
        """Deep-merges partial records into stored ones (arrays replaced, unknown ids ignored)."""
        model = self.__model(model)
        data = [_json_record(r) for r in _sequence(records)]
        for item in data:
            _record_id(item)
        for chunk in _chunks(data, RECORDS_PER_CALL):
            self.__call("batch_update", {"model": model, "records": chunk})
        return True

    def get_records_by_id(self, ids: Sequence[str | int], model: str) -> dict[str, Any]:
        """The stored records with these ids, as a dict id -> record (missing ones absent)."""
        model = self.__model(model)
        found: dict[str, Any] = {}
        for chunk in _chunks([key(i, "an id") for i in _sequence(ids)], IDS_PER_CALL):
            found |= dict(self.__call("get_records_by_id", {"model": model, "ids": chunk}))
        return found

    def track_deletes_start(self, model: str) -> None:
        """Starts deletion tracking for a model."""
        self.__call("track_deletes_start", {"model": self.__model(model)})

    def track_deletes_end(self, model: str) -> None:
        """Marks records of the model not saved since ``track_deletes_start`` as deleted."""
        self.__call("track_deletes_end", {"model": self.__model(model)})

    def __model(self, name: Any) -> str:
        model = str.__str__(name) if isinstance(name, str) else ""
        if not model:
            raise RunFailure("invalid_sync_record", "the model name must be a non-empty string")
        if self.__models and model not in self.__models:
            raise RunFailure(
                "invalid_sync_record",
                f"{model!r} is not one of the sync's models: {', '.join(sorted(self.__models))}",
            )
        return model

    def __records(self, values: list[Any], model: str) -> list[Any]:
        """The records as JSON-able data, validated against the model: all at once where
        they can be, else one by one, so that the first record that fails raises."""
        if not values:
            return []
        schema = self.__models.get(model) if self.__validate else None
        data = json_values_at_once(schema, values)
        if data is None:
            return [self.__record(record, model) for record in values]
        if not all(type(item) is dict and _plain_id(item.get("id")) for item in data):
            for item in data:
                _record_id(item)  # raises for the first record whose id is wrong
        return data

    def __record(self, record: Any, model: str) -> Any:
        schema = self.__models.get(model) if self.__validate else None
        value = validate_with(schema, record, error_type="invalid_sync_record", what="a record")
        data = _json_record(value)
        _record_id(data)
        return data


def _override(value: Any) -> str:
    """A ``get_connection`` override as sent: "" for none (the run's own)."""
    return optional_text(value, "a get_connection override")


def _jsonable(value: Any) -> Any:
    return to_json_value(value, error_type="script_internal_error", what="a value")


def _json_text(value: Any) -> str:
    return json.dumps(_jsonable(value))


def _json_record(value: Any) -> Any:
    return to_json_value(value, error_type="invalid_sync_record", what="a record")


def _object(value: Any, what: str) -> dict[str, Any]:
    data = to_json_value(value, error_type="script_internal_error", what=what)
    if not isinstance(data, dict):
        raise TypeError(f"{what} must be a dict or a model")
    return data


def _flat_checkpoint(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RunFailure("invalid_checkpoint", "a checkpoint must be a dict or a model")
    nested = sorted(k for k, v in data.items() if isinstance(v, dict | list))
    if nested:
        raise RunFailure(
            "invalid_checkpoint",
            "a checkpoint is a flat object of strings, numbers, booleans and nulls; "
            f"nested: {', '.join(nested)}",
        )
    if len(json.dumps(data)) > MAX_CHECKPOINT_BYTES:
        raise RunFailure(
            "invalid_checkpoint", f"a checkpoint is at most {MAX_CHECKPOINT_BYTES} bytes"
        )
    return data


def _sequence(records: Any) -> list[Any]:
    if isinstance(records, str | bytes | Mapping) or not hasattr(records, "__iter__"):
        raise RunFailure("invalid_sync_record", "records must be given as a list")
    return list(records)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _plain_id(value: Any) -> bool:
    """Whether ``value`` is an id :func:`_record_id` takes, checked cheaply (a subclass of str
    or int is left to it)."""
    return (type(value) is str and value != "") or type(value) is int


def _record_id(data: Any) -> str:
    if not isinstance(data, dict):
        raise RunFailure("invalid_sync_record", "a record must be an object")
    rid = data.get("id")
    if isinstance(rid, bool) or not isinstance(rid, str | int) or rid == "":
        raise RunFailure(
            "invalid_sync_record",
            f"a record's id must be a non-empty string or an integer: {rid!r}",
        )
    return str(rid)
