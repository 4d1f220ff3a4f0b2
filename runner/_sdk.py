"""The ``nango`` object given to function code: every method is a call to the orchestrator.

Only public methods and ``variant`` are reachable from function code (the sandbox refuses names
beginning with ``_``). The channel, the run token and the orchestrator never appear here: the
worker holds only a function that sends one SDK call over its pipe and returns the reply.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from corral.errors import RunFailure
from runner._paginate import paginate_pages
from runner._response import HttpError, Response
from runner._values import to_json_value, validate_with

Call = Callable[[str, dict[str, Any]], Any]

LOG_LEVELS = ("debug", "info", "warn", "error", "off")
_PROXY_FIELDS = frozenset(
    {
        "endpoint",
        "headers",
        "params",
        "data",
        "retries",
        "retry_on",
        "base_url_override",
        "decompress",
        "response_type",
        "method",
        "paginate",
        "provider_config_key",
        "connection_id",
    }
)


class Nango:
    """The SDK object of one run (see DESIGN.md, "The function authoring API")."""

    def __init__(
        self,
        call: Call,
        context: Mapping[str, Any],
        models: Mapping[str, Any] | None = None,
        checkpoint_model: Any = None,
    ) -> None:
        self.__call = call
        self.__variant = str(context.get("variant") or "base")
        self.__checkpoint_model = checkpoint_model
        self.__models = dict(models or {})
        self.__level = LOG_LEVELS.index(context.get("log_level") or "info")

    @property
    def variant(self) -> str:
        """The sync variant this run is for ("base" when none)."""
        return self.__variant

    # ---- HTTP ----

    def proxy(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """Sends a request through the orchestrator's proxy; raises HttpError on non-2xx."""
        merged = _merge_config(config, options)
        return self.__send(str(merged.get("method") or "GET"), merged)

    def get(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """GET request (see ``proxy``)."""
        return self.__send("GET", _merge_config(config, options))

    def post(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """POST request (see ``proxy``)."""
        return self.__send("POST", _merge_config(config, options))

    def put(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """PUT request (see ``proxy``)."""
        return self.__send("PUT", _merge_config(config, options))

    def patch(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """PATCH request (see ``proxy``)."""
        return self.__send("PATCH", _merge_config(config, options))

    def delete(self, config: Mapping[str, Any] | None = None, **options: Any) -> Response:
        """DELETE request (see ``proxy``)."""
        return self.__send("DELETE", _merge_config(config, options))

    def paginate(self, config: Mapping[str, Any] | None = None, **options: Any) -> Iterator[Any]:
        """Pages of results, following the config's ``paginate`` settings."""
        merged = _merge_config(config, options)
        method = str(merged.get("method") or "GET")
        return paginate_pages(lambda cfg: self.__send(method, cfg), merged)

    def __send(self, method: str, config: dict[str, Any]) -> Response:
        request = _proxy_args(method, config)
        reply = self.__call("proxy", request)
        response = Response.from_reply(reply, config)
        if not 200 <= response.status < 300:
            raise HttpError(response)
        return response

    # ---- logging ----

    def log(self, message: Any, *meta: Any, level: str = "info") -> None:
        """Logs a message for this run, if ``level`` is at or above the logger's level."""
        if level not in LOG_LEVELS[:-1]:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS[:-1])}")
        if LOG_LEVELS.index(level) < self.__level:
            return
        text = message if isinstance(message, str) else json.dumps(_jsonable(message))
        self.__call("log", {"level": level, "message": text, "meta": [_jsonable(m) for m in meta]})

    def set_logger(self, level: str = "info") -> None:
        """Sets the lowest level ``log`` records from now on ("off" records nothing)."""
        if level not in LOG_LEVELS:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS)}")
        self.__level = LOG_LEVELS.index(level)

    # ---- connection, integration, environment ----

    def get_environment_variables(self) -> list[dict[str, str]]:
        """The environment's variables as ``[{"name", "value"}]``."""
        return list(self.__call("get_environment_variables", {}))

    def get_connection(
        self,
        provider_config_key: str | None = None,
        connection_id: str | None = None,
        *,
        force_refresh: bool = False,
        refresh_token: bool = False,
        refresh_github_app_jwt_token: bool = False,
    ) -> dict[str, Any]:
        """This run's connection, with credentials (refreshed when they expire soon)."""
        del provider_config_key, connection_id  # a run reaches its own connection only
        return dict(
            self.__call(
                "get_connection",
                {
                    "force_refresh": bool(force_refresh),
                    "refresh_token": bool(refresh_token),
                    "refresh_github_app_jwt_token": bool(refresh_github_app_jwt_token),
                },
            )
        )

    def get_integration(self, include: Sequence[str] | None = None) -> dict[str, Any]:
        """The integration; with ``include=["credentials"]`` its OAuth client too."""
        return dict(self.__call("get_integration", {"include": [str(i) for i in include or ()]}))

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
        """Runs another action of this integration for this connection; returns its output."""
        return self.__call("trigger_action", {"name": str(action_name), "input": _jsonable(input)})

    # ---- checkpoints ----

    def get_checkpoint(self) -> Any:
        """The saved checkpoint, or None on a first run or after a reset."""
        return self.__call("get_checkpoint", {})

    def save_checkpoint(self, checkpoint: Any) -> None:
        """Saves progress; validated against the sync's ``checkpoint`` model."""
        value = validate_with(
            self.__checkpoint_model, checkpoint, error_type="invalid_checkpoint", what="checkpoint"
        )
        data = to_json_value(value, error_type="invalid_checkpoint", what="checkpoint")
        self.__call("save_checkpoint", {"checkpoint": _object(data, "checkpoint")})

    def clear_checkpoint(self) -> None:
        """Clears the checkpoint, so the next run starts from the beginning."""
        self.__call("clear_checkpoint", {})

    # ---- records ----

    def batch_save(self, records: Sequence[Any], model: str) -> bool:
        """Upserts records of a model by ``id``."""
        self.__call("batch_save", {"model": model, "records": self.__records(records, model)})
        return True

    def batch_delete(self, records: Sequence[Any], model: str) -> bool:
        """Marks records of a model as deleted (soft); only ``id`` is read."""
        ids = [
            _record_id(to_json_value(r, error_type="invalid_sync_record", what="record"))
            for r in _sequence(records)
        ]
        self.__call("batch_delete", {"model": model, "records": [{"id": i} for i in ids]})
        return True

    def batch_update(self, records: Sequence[Any], model: str) -> bool:
        """Deep-merges partial records into stored ones (arrays replaced)."""
        data = [
            to_json_value(r, error_type="invalid_sync_record", what="record")
            for r in _sequence(records)
        ]
        for item in data:
            _record_id(item)
        self.__call("batch_update", {"model": model, "records": data})
        return True

    def get_records_by_id(self, ids: Sequence[str | int], model: str) -> dict[str, Any]:
        """The stored records with these ids, as a dict id -> record (missing ones absent)."""
        return dict(
            self.__call("get_records_by_id", {"model": model, "ids": [str(i) for i in ids]})
        )

    def track_deletes_start(self, model: str) -> None:
        """Starts deletion tracking for a model."""
        self.__call("track_deletes_start", {"model": str(model)})

    def track_deletes_end(self, model: str) -> None:
        """Marks records of the model not saved since ``track_deletes_start`` as deleted."""
        self.__call("track_deletes_end", {"model": str(model)})

    def __records(self, records: Sequence[Any], model: str) -> list[Any]:
        schema = self.__models.get(model)
        out = []
        for record in _sequence(records):
            value = validate_with(schema, record, error_type="invalid_sync_record", what="a record")
            data = to_json_value(value, error_type="invalid_sync_record", what="a record")
            _record_id(data)
            out.append(data)
        return out


def _merge_config(config: Mapping[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(config or {}) | dict(options)
    unknown = set(merged) - _PROXY_FIELDS
    if unknown:
        raise TypeError(f"unknown request option(s): {', '.join(sorted(unknown))}")
    if not isinstance(merged.get("endpoint"), str) or not merged["endpoint"]:
        raise TypeError("a request needs an 'endpoint' string")
    return merged


def _proxy_args(method: str, config: Mapping[str, Any]) -> dict[str, Any]:
    data = config.get("data")
    args: dict[str, Any] = {
        "method": method.upper(),
        "endpoint": config["endpoint"],
        "headers": {str(k): str(v) for k, v in dict(config.get("headers") or {}).items()},
        "params": _jsonable(config.get("params")),
        "retries": int(config.get("retries") or 0),
        "retry_on": [int(s) for s in config.get("retry_on") or ()],
        "base_url_override": str(config.get("base_url_override") or ""),
        "decompress": bool(config.get("decompress")),
        "response_type": str(config.get("response_type") or ""),
    }
    if isinstance(data, bytes | bytearray):
        args["data_b64"] = base64.b64encode(bytes(data)).decode()
    elif isinstance(data, str):
        args["data_text"] = data
    elif data is not None:
        args["data_json"] = _jsonable(data)
    return args


def _jsonable(value: Any) -> Any:
    return to_json_value(value, error_type="script_internal_error", what="a value")


def _object(value: Any, what: str) -> dict[str, Any]:
    data = to_json_value(value, error_type="script_internal_error", what=what)
    if not isinstance(data, dict):
        raise TypeError(f"{what} must be a dict or a model")
    return data


def _sequence(records: Any) -> list[Any]:
    if isinstance(records, str | bytes | Mapping) or not hasattr(records, "__iter__"):
        raise RunFailure("invalid_sync_record", "records must be given as a list")
    return list(records)


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
