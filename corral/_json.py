"""JSON at the boundaries: strict parsing with typed errors, compact dumping.

Strict means: what is parsed can be stored and sent on as it is. Text that is not JSON is
refused, and so is JSON that does not round-trip through other parsers and the store: bytes
that are not UTF-8 (RFC 8259; no byte order mark either), ``NaN`` and the infinities (also
``1e999``, which Python would read as infinity), lone UTF-16 surrogates (``"\\ud800"``, not
valid Unicode, so not storable as UTF-8), and nesting deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import json
import json.encoder
import math
import re
from typing import Any, NoReturn

from corral.errors import InvalidRequest

MAX_DEPTH = 128
"""The deepest nesting of arrays and objects a parsed value may have."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_STRICT_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_MAKE_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE: Any = (
    None
    if _MAKE_C_ENCODER is None
    else _MAKE_C_ENCODER(
        None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
)


def loads(text: str | bytes | bytearray, *, what: str, default: Any = None) -> Any:
    """Parses JSON text; an empty text gives ``default``.

    Raises:
        InvalidRequest: code ``invalid_json``: the text is not JSON, holds a non-finite number
            or a lone surrogate, or nests deeper than ``MAX_DEPTH``; ``what`` is named in the
            message.
    """
    if not text:
        return default
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            _refuse(what, f"it is not UTF-8 ({exc.reason} at byte {exc.start})")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        _refuse(what, f"it nests deeper than {MAX_DEPTH} levels")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        _refuse(what, f"it nests deeper than {MAX_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        _refuse(what, "it holds a lone UTF-16 surrogate (\\ud800 to \\udfff), which is not Unicode")
    return value


def loads_object(text: str | bytes, *, what: str) -> dict[str, Any]:
    """Parses a JSON object; an empty text gives ``{}``."""
    value = loads(text, what=what, default={})
    if not isinstance(value, dict):
        raise InvalidRequest(
            f"{what} must be a JSON object, not {_kind(value)}", code="invalid_json"
        )
    return value


def dumps(value: Any) -> str:
    """Compact JSON text that keeps key order and non-ASCII characters."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def compact(value: Any) -> str:
    """Compact JSON text of JSON data (dicts, lists, strings, numbers, booleans, None): key
    order and non-ASCII characters kept, ``NaN`` and the infinities refused (``ValueError``),
    as ``json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)``
    writes it, in one call of the C encoder (made once) rather than through ``JSONEncoder``'s
    Python methods: batches of records are encoded a record at a time."""
    if _C_ENCODE is None:  # pragma: no cover - CPython has the C encoder
        return _STRICT_ENCODE(value)
    return "".join(_C_ENCODE(value, 0))


def _refuse(what: str, why: str) -> NoReturn:
    raise InvalidRequest(f"{what} is not valid JSON: {why}", code="invalid_json")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a container nests deeper than ``limit``: level by level, containers only (a
    batch of thousands of records is walked in a few comprehensions, not value by value)."""
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    depth = 1
    while level:
        if depth > limit:
            return True
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        depth += 1
    return False


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"
