"""A function's request configuration, checked and turned into the ``proxy`` call's arguments.

The seed's ``ProxyConfiguration`` in snake_case: ``endpoint`` (required), ``method``,
``headers``, ``params``, ``data``, ``retries``, ``retry_on``, ``base_url_override``,
``decompress``, ``response_type``; ``paginate`` for ``nango.paginate``; and
``provider_config_key`` / ``connection_id``, accepted and ignored (a run reaches its own
connection only).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from runner.sdk._scalars import flag, number, optional_text, text, whole
from runner.worker._values import to_json_value

PROXY_FIELDS = frozenset(
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
"""The request options a function may give."""

RESPONSE_TYPES = frozenset({"", "arraybuffer", "blob", "document", "json", "text", "stream"})
"""The seed's ``responseType`` values (``blob``, ``document``, ``stream``: read as with none)."""


def merge_config(config: Mapping[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """One config from a dict and keyword arguments (the keywords win), checked before any
    request: its options (:func:`_read_options`) read as exact built-in values, ``method``
    upper case ("GET" when none).

    Raises:
        TypeError: an unknown option, no ``endpoint`` string, or an option of the wrong type.
    """
    merged = dict({} if config is None else config) | dict(options)
    unknown = set(merged) - PROXY_FIELDS
    if unknown:
        raise TypeError(
            f"unknown request option(s): {', '.join(sorted(unknown))}; "
            f"the options are {', '.join(sorted(PROXY_FIELDS))}"
        )
    merged["method"] = optional_text(merged.get("method"), "method", "GET").upper()
    return merged | _read_options(merged)


def proxy_args(method: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of the ``proxy`` SDK call for a request: its options read again from
    ``config`` (function code may hold the config of an earlier response of a paginate call,
    whose dicts the next request's shares), so what is sent is what was read here."""
    data = config.get("data")
    args: dict[str, Any] = {
        "method": text(method, "method").upper(),
        **_read_options(config),
        "params": _jsonable(config.get("params")),
    }
    if isinstance(data, bytes | bytearray):
        args["data_b64"] = base64.b64encode(data).decode()
    elif isinstance(data, str):
        args["data_text"] = text(data, "data")
    elif data is not None:
        args["data_json"] = _jsonable(data)
    return args


def _read_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """A request's scalar options as exact built-in values (``runner.sdk._scalars``):
    ``endpoint``, ``headers`` (text to text), ``retries``, ``retry_on``,
    ``base_url_override``, ``decompress`` and ``response_type``.

    Raises:
        TypeError: no ``endpoint`` string, or an option of the wrong type.
    """
    endpoint = config.get("endpoint")
    if not isinstance(endpoint, str) or not (endpoint := text(endpoint, "endpoint")):
        raise TypeError("a request needs an 'endpoint' string")
    response_type = optional_text(config.get("response_type"), "response_type")
    if response_type not in RESPONSE_TYPES:
        raise TypeError(f"response_type must be one of {', '.join(sorted(RESPONSE_TYPES - {''}))}")
    retries = config.get("retries")
    retry_on = () if config.get("retry_on") is None else config["retry_on"]
    return {
        "endpoint": endpoint,
        "headers": _headers(config.get("headers")),
        "retries": 0 if retries is None else whole(retries, "retries"),
        "retry_on": [whole(s, "a retry_on status") for s in retry_on],
        "base_url_override": optional_text(config.get("base_url_override"), "base_url_override"),
        "decompress": flag(config.get("decompress"), "decompress"),
        "response_type": response_type,
    }


def _headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError("headers must be a dict of names to values")
    return {text(k, "a header's name"): _header_value(v) for k, v in dict(headers).items()}


def _header_value(value: Any) -> str:
    if isinstance(value, str):
        return text(value, "a header's value")
    if isinstance(value, float):
        return float.__repr__(number(value, "a header's value"))
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__repr__(whole(value, "a header's value"))
    raise TypeError("a header's value must be a string or a number")


def _jsonable(value: Any) -> Any:
    return to_json_value(value, error_type="script_internal_error", what="a value")
