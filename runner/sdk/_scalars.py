"""The SDK's own reading of the scalars function code gives it: text, whole numbers, numbers, flags.

Every scalar an SDK call sends (a model's name, an id, a request's method, a header, a log
level) is taken here, once, by the built-in type's own method, and the exact built-in value is
what the SDK checks and sends. ``str(value)``, ``int(value)``, ``bool(value)`` and ``value or
default`` would call the value's own ``__str__``, ``__int__``, ``__bool__`` or ``__eq__``: a
class of function code would run inside the SDK's step and could answer differently each time
it is asked (a value checked as one text and sent as another). A value of any other type is
refused with a ``TypeError`` naming what it was for, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def text(value: Any, what: str) -> str:
    """``value`` as an exact ``str`` (a subclass's characters, read without its methods).

    Raises:
        TypeError: ``value`` is not a string.
    """
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(f"{what} must be a string")


def optional_text(value: Any, what: str, default: str = "") -> str:
    """:func:`text`, with ``None`` and ``""`` read as ``default``."""
    return default if value is None else text(value, what) or default


def whole(value: Any, what: str) -> int:
    """``value`` as an exact ``int`` (not a bool).

    Raises:
        TypeError: ``value`` is not an integer.
    """
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__index__(value)
    raise TypeError(f"{what} must be an integer")


def number(value: Any, what: str) -> int | float:
    """``value`` as an exact ``int`` or ``float`` (not a bool).

    Raises:
        TypeError: ``value`` is not a number.
    """
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return whole(value, what)
    raise TypeError(f"{what} must be a number")


def flag(value: Any, what: str) -> bool:
    """``value`` as a ``bool``: a bool, ``None`` (false) or an integer (non-zero is true).

    Raises:
        TypeError: any other value.
    """
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, int):
        return whole(value, what) != 0
    raise TypeError(f"{what} must be true or false")


def key(value: Any, what: str) -> str:
    """A record's id as sent: a non-empty string, or an integer written in decimal.

    Raises:
        TypeError: ``value`` is neither, or is empty.
    """
    if isinstance(value, str):
        found = text(value, what)
        if found:
            return found
    elif isinstance(value, int) and not isinstance(value, bool):
        return int.__repr__(whole(value, what))
    raise TypeError(f"{what} must be a non-empty string or an integer")


def strings(values: Any, what: str) -> list[str]:
    """A list of strings from a list, tuple or other collection of them (``None``: none).

    Raises:
        TypeError: ``values`` is a string, a mapping or not a collection, or holds a non-string.
    """
    if values is None:
        return []
    if isinstance(values, str | bytes | bytearray | Mapping) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} must be a list of strings")
    return [text(item, what) for item in values]
