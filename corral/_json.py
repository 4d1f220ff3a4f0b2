"""JSON at the boundaries: strict parsing with typed errors, compact dumping."""

from __future__ import annotations

import json
from typing import Any

from corral.errors import InvalidRequest


def loads(text: str | bytes, *, what: str, default: Any = None) -> Any:
    """Parses JSON text; an empty text gives ``default``.

    Raises:
        InvalidRequest: the text is not JSON, with ``what`` named in the message.
    """
    if not text:
        return default
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from exc


def loads_object(text: str | bytes, *, what: str) -> dict[str, Any]:
    """Parses a JSON object; an empty text gives ``{}``."""
    value = loads(text, what=what, default={})
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object", code="invalid_json")
    return value


def dumps(value: Any) -> str:
    """Compact JSON text that keeps key order and non-ASCII characters."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
