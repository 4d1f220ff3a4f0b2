"""Keep function code from redefining what builtin values do.

The sandbox's checks and the libraries they guard read a ``dict``, a ``tuple``, a ``str``...
in different ways: a check iterates a tuple or calls ``dict.get``, a library reads the same
object through the C API, or iterates it once more later. A class of the function's that
derives from a builtin value type and redefines one of its methods (``__iter__``, ``get``,
``items``, ``__hash__``, ``startswith``...) could show each reader something else: an empty
tuple to the check, a string to ``typing``'s ``eval``; a dict without ``from_attributes`` to
the schema check, one with it to pydantic-core. So such a class may not redefine any
attribute its builtin bases define; only how it is made and shown (``__new__``, ``__init__``,
``__repr__``, ``__str__``, ``__format__``, ``__doc__``) is its own. The enum machinery's own
methods on an enum class (``IntFlag``'s ``__or__``...) are library code and stay.
"""

from __future__ import annotations

import enum
import functools
from types import FunctionType, MethodType
from typing import Any

from sandbox.language._errors import FILE_KEY, deny
from sandbox.language._registry import is_customer_class

RULE = "builtin_override"
"""The violation rule of a refused class."""

OWN_NAMES: frozenset[str] = frozenset(
    {
        "__doc__",
        "__module__",
        "__qualname__",
        "__annotations__",
        "__new__",
        "__init__",
        "__repr__",
        "__str__",
        "__format__",
        "__getnewargs__",
    }
)
"""What a subclass of a builtin value type may define although its base does: how an instance
is made and shown, never how its content is read."""


def _builtin_bases(cls: type) -> list[type]:
    """The builtin value types ``cls`` derives from (``object`` and exceptions aside: an
    exception's message is read as text, whatever its class does)."""
    return [
        base
        for base in cls.__mro__[1:]
        if base.__module__ == "builtins"
        and base is not object
        and not issubclass(base, BaseException)
    ]


def _customer_made(value: object) -> bool:
    """Whether ``value`` is (or wraps) code or an object of the function's."""
    if isinstance(value, staticmethod | classmethod):
        return _customer_made(value.__func__)
    if isinstance(value, property):
        return any(_customer_made(part) for part in (value.fget, value.fset, value.fdel))
    if isinstance(value, functools.partial):
        return _customer_made(value.func)
    if isinstance(value, MethodType):
        return _customer_made(value.__func__) or _customer_made(value.__self__)
    if isinstance(value, FunctionType):
        return FILE_KEY in value.__globals__
    return is_customer_class(type(value)) or is_customer_class(value)


def refuse_builtin_overrides(cls: type) -> None:
    """Refuse ``cls`` if it redefines an attribute of a builtin value type it derives from.

    Raises:
        SandboxViolation: ``builtin_override`` naming the class and the attributes.
    """
    bases = _builtin_bases(cls)
    if not bases:
        return
    library_made = issubclass(cls, enum.Enum)
    redefined = sorted(
        name
        for name, value in vars(cls).items()
        if name not in OWN_NAMES
        and any(name in vars(base) for base in bases)
        and (not library_made or _customer_made(value))
    )
    if redefined:
        deny(RULE, _message(cls, bases[0], redefined))


def _message(cls: type, base: type, names: list[Any]) -> str:
    return (
        f"class {cls.__qualname__!r} may not redefine {', '.join(map(repr, names))} of "
        f"{base.__name__!r}: a class deriving from a builtin type keeps its methods "
        "(define a class of your own, holding the value, instead)"
    )
