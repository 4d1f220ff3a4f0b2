"""JavaScript's ``JSON.stringify`` and ``String(value)``, for request identities of fixtures."""

from __future__ import annotations

import json
import math
from typing import Any


def js_number(value: float | int) -> str:
    """A number as JavaScript prints it (``1.0`` is ``1``, ``1e-07`` is ``1e-7``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return "null"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def stringify(value: Any) -> str:
    """``JSON.stringify(value)``: compact, key order kept, non-ASCII kept."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join("null" if v is None else stringify(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                f"{json.dumps(str(k), ensure_ascii=False)}:{stringify(v)}" for k, v in value.items()
            )
            + "}"
        )
    return json.dumps(str(value), ensure_ascii=False)


def js_string(value: Any) -> str:
    """``String(value)``: arrays join with commas, null is "null", objects "[object Object]"."""
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return js_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ",".join("" if v is None else js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def utf16_length(text: str) -> int:
    """The length of a string in UTF-16 code units, as JavaScript counts it."""
    return len(text.encode("utf-16-le")) // 2
