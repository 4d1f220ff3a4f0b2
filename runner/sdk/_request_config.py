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
    """One config from a dict and keyword arguments (the keywords win).

    Raises:
        TypeError: an unknown option, or no ``endpoint`` string.
    """
    merged = dict(config or {}) | dict(options)
    unknown = set(merged) - PROXY_FIELDS
    if unknown:
        raise TypeError(
            f"unknown request option(s): {', '.join(sorted(unknown))}; "
            f"the options are {', '.join(sorted(PROXY_FIELDS))}"
        )
    if not isinstance(merged.get("endpoint"), str) or not merged["endpoint"]:
        raise TypeError("a request needs an 'endpoint' string")
    if str(merged.get("response_type") or "") not in RESPONSE_TYPES:
        raise TypeError(f"response_type must be one of {', '.join(sorted(RESPONSE_TYPES - {''}))}")
    return merged


def proxy_args(method: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of the ``proxy`` SDK call for a request."""
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
