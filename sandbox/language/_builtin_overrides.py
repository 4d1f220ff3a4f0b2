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

from sandbox.language._errors import deny, made_by_function
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
        return made_by_function(value)
    return is_customer_class(type(value)) or is_customer_class(value)


def refuse_builtin_overrides(cls: type) -> None:
    """Refuse ``cls`` if an attribute of a builtin value type it derives from resolves, on it,
    to something of the function's: defined in its own body, in a base class of the function's
    that comes before the builtin one (``class B(A, dict)`` with ``A.get``), or written into it
    by a library (what ``dataclass()`` writes). An enum class keeps what the enum machinery
    writes into it (``IntFlag``'s ``__or__``), never a method of the function's.

    Raises:
        SandboxViolation: ``builtin_override`` naming the class and the attributes.
    """
    bases = _builtin_bases(cls)
    if not bases:
        return
    library_made = issubclass(cls, enum.Enum)
    names = set().union(*(vars(base) for base in bases)) - OWN_NAMES
    redefined = []
    for name in names:
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        if owner is not cls and not is_customer_class(owner):
            continue  # a builtin's own, or a library class's (``enum.Enum``, ``typing.Generic``)
        if library_made and not _customer_made(vars(owner)[name]):
            continue
        redefined.append(name)
    if redefined:
        deny(RULE, _message(cls, bases[0], sorted(redefined)))


def _message(cls: type, base: type, names: list[Any]) -> str:
    return (
        f"class {cls.__qualname__!r} may not redefine {', '.join(map(repr, names))} of "
        f"{base.__name__!r}: a class deriving from a builtin type keeps its methods "
        "(define a class of your own, holding the value, instead)"
    )


def _redefinable(cls: type) -> frozenset[str]:
    """The names a write onto ``cls`` or its instances may not take: its builtin bases'."""
    bases = _builtin_bases(cls)
    return frozenset().union(*(vars(base) for base in bases)) - OWN_NAMES if bases else frozenset()


def _with_subclasses(cls: type) -> list[type]:
    found, pending = [], [cls]
    while pending:
        klass = pending.pop()
        found.append(klass)
        pending.extend(type.__subclasses__(klass))
    return found


def refuse_override_write(target: object, name: str) -> None:
    """Refuse ``target.name = ...`` when it would redefine a builtin base's attribute after the
    class statement: on a class of the function's (or on a base of one deriving from a builtin
    type), or on an instance of such a class, whose own attribute a method call finds first.

    Raises:
        SandboxViolation: ``builtin_override``.
    """
    classes = _with_subclasses(target) if isinstance(target, type) else [type(target)]
    for cls in classes:
        if name in _redefinable(cls):
            deny(RULE, _message(cls, _builtin_bases(cls)[0], [name]))


def needs_write_check(target: object) -> bool:
    """Whether writes onto ``target`` go through ``refuse_override_write``: a class of the
    function's (a subclass may derive from a builtin type), or an instance of one deriving
    from a builtin type."""
    if isinstance(target, type):
        return is_customer_class(target)
    kind = type(target)
    return is_customer_class(kind) and bool(_builtin_bases(kind))


class CheckedWrites:
    """What ``_write_`` gives for a target of ``needs_write_check``: the target's writes, each
    attribute name checked first."""

    __slots__ = ("_target",)

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_target", target)

    def __setattr__(self, name: str, value: object) -> None:
        target = object.__getattribute__(self, "_target")
        refuse_override_write(target, name)
        setattr(target, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(object.__getattribute__(self, "_target"), name)

    def __setitem__(self, key: object, value: object) -> None:
        object.__getattribute__(self, "_target")[key] = value

    def __delitem__(self, key: object) -> None:
        del object.__getattribute__(self, "_target")[key]
