"""``type`` as customer code sees it.

The real ``type`` makes classes from a name, bases and a namespace dict: that skips the compiler's
checks (any special method, string annotations) and, through a metaclass such as pydantic's,
reaches code that evaluates strings. Customer code gets ``GuardedType`` instead: ``type(x)``
answers with the class of ``x`` when customer code could name that class anyway (builtin types,
classes of allowed modules and of the SDK, its own classes), with ``type`` itself when ``x`` is a
class (metaclasses stay hidden), and with an opaque ``TypeToken`` otherwise (comparable,
usable with ``isinstance``, but with no attributes and not callable).
"""

from __future__ import annotations

import secrets
import typing
from collections.abc import Callable
from typing import Any

from sandbox.language._annotations import check_subscription
from sandbox.language._errors import deny

_SALT = secrets.randbits(64)

TYPE_FORM: Any = typing.Type  # noqa: UP006 - typing.Type[X] cannot be called, type[X] can
"""What ``type`` stands for in annotations and subscriptions of customer code."""


class TypeToken:
    """Stands for a library class that customer code may compare but not use."""

    __slots__ = ("_token_class",)

    _token_class: type

    def __init__(self, cls: type) -> None:
        object.__setattr__(self, "_token_class", cls)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("type tokens are read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypeToken) and other._token_class is self._token_class

    def __hash__(self) -> int:
        # Salted: hash(cls) itself would let customer code forge dict keys that collide with cls.
        return hash((_SALT, self._token_class))

    def __repr__(self) -> str:
        cls = self._token_class
        return f"<class '{cls.__module__}.{cls.__qualname__}'>"

    def __instancecheck__(self, instance: object) -> bool:
        return isinstance(instance, self._token_class)


class GuardedType:
    """The ``type`` builtin of customer code: tells an object's class, never makes one."""

    __slots__ = ("_exposed",)

    _exposed: Callable[[type], bool]

    def __init__(self, exposed: Callable[[type], bool]) -> None:
        object.__setattr__(self, "_exposed", exposed)

    def __call__(self, *args: Any, **kwargs: Any) -> object:
        if len(args) != 1 or kwargs:
            deny(
                "type_call",
                "type(name, bases, namespace) is not allowed in functions: define classes with a "
                "class statement",
            )
        return self.of(args[0])

    def of(self, obj: object) -> object:
        """What ``type(obj)`` returns in customer code."""
        cls = type(obj)
        if issubclass(cls, type) or cls in (GuardedType, TypeToken):
            return self
        if self._exposed(cls):
            return cls
        return TypeToken(cls)

    def __instancecheck__(self, instance: object) -> bool:
        return isinstance(instance, type)

    def __subclasscheck__(self, subclass: object) -> bool:
        return subclass is self or (isinstance(subclass, type) and issubclass(subclass, type))

    def __getitem__(self, item: Any) -> Any:
        # typing.Type[...] rather than type[...]: a types.GenericAlias calls its origin.
        check_subscription(type, item)
        return TYPE_FORM[item]

    def __or__(self, other: Any) -> Any:
        return typing.Union[TYPE_FORM, other]  # noqa: UP007 - a typing form, never `type | x`

    def __ror__(self, other: Any) -> Any:
        return typing.Union[other, TYPE_FORM]  # noqa: UP007 - a typing form, never `x | type`

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("'type' is read-only")

    def __repr__(self) -> str:
        return "<class 'type'>"
