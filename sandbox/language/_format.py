"""``str.format`` without attribute or item traversal.

A format string can walk attributes (``"{0.__class__.__mro__}"``) and items from its arguments
inside the C implementation, where no guard sees it (CVE-2023-41039). Customer code gets these
replacements for ``str.format`` and ``str.format_map``: plain positional and keyword fields,
conversions and format specs work; a field that contains ``.`` or ``[`` is a violation.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from types import BuiltinMethodType
from typing import Any

from sandbox.language._errors import deny

_PLAIN_FIELD = re.compile(r"\d*|[^\W\d]\w*")
_PARSER = string.Formatter()


def _check_template(template: str, depth: int = 0) -> None:
    for _literal, field, spec, _conversion in _PARSER.parse(template):
        if field is None:
            continue
        if not _PLAIN_FIELD.fullmatch(field):
            deny(
                "format_string",
                f"format field {{{field}}} is not allowed: format strings may not read "
                "attributes or items in functions; use an f-string",
            )
        if spec and depth < 2:
            _check_template(spec, depth + 1)


def safe_format(template: str, /, *args: Any, **kwargs: Any) -> str:
    """``str.format`` for customer code: no attribute or item access in fields."""
    if not isinstance(template, str):
        raise TypeError("format() needs a str template")
    _check_template(template)
    return str.format(template, *args, **kwargs)


def safe_format_map(template: str, mapping: Mapping[str, Any], /) -> str:
    """``str.format_map`` for customer code: no attribute or item access in fields."""
    if not isinstance(template, str):
        raise TypeError("format_map() needs a str template")
    _check_template(template)
    return str.format_map(template, mapping)


def bound_format(template: str, name: str) -> Callable[..., str]:
    """``template.format`` (or ``.format_map``) as customer code gets it."""
    method = safe_format if name == "format" else safe_format_map

    def format_method(*args: Any, **kwargs: Any) -> str:
        return method(template, *args, **kwargs)

    format_method.__name__ = format_method.__qualname__ = name
    return format_method


def unbound_format(name: str) -> Callable[..., str]:
    """``str.format`` (or ``str.format_map``) as customer code gets it."""
    return safe_format if name == "format" else safe_format_map


_UNBOUND = {id(str.format): safe_format, id(str.format_map): safe_format_map}


def safe_format_value(value: object) -> object:
    """``value``, or the safe replacement when it is ``str.format``/``format_map``, bound or not.

    Decided on the value, not on the object it was read from: ``typing`` aliases forward their
    attributes (``pydantic.StrictStr.format`` is ``str.format``), and so do ``super()`` objects.
    """
    replacement = _UNBOUND.get(id(value))
    if replacement is not None:
        return replacement
    if isinstance(value, BuiltinMethodType) and value.__name__ in ("format", "format_map"):
        owner = value.__self__
        if isinstance(owner, str):
            return bound_format(owner, value.__name__)
    return value
