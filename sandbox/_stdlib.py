"""Guarded stand-ins for standard-library names that could build classes behind the compiler.

* ``enum``: the functional API (``Enum("Name", [("__dunder__", f)])``) defines arbitrary special
  methods, which a class statement may not; our enum bases refuse it (lookups by value work).
* ``dataclasses.dataclass`` rewrites the class it is given, ``dataclasses.replace`` builds a new
  instance with any field values: only customer classes and their instances qualify.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from sandbox._errors import deny
from sandbox._registry import is_customer_class, register_class


class _SandboxEnumType(enum.EnumType):
    """Enum metaclass without the functional API."""

    def __call__(cls, value: Any, names: Any = None, *args: Any, **kwargs: Any) -> Any:
        if names is not None or args or kwargs:
            deny(
                "enum_functional_api",
                "Enum('Name', members) is not allowed in functions: define the enum with a class "
                "statement",
            )
        return super().__call__(value)


class Enum(enum.Enum, metaclass=_SandboxEnumType):
    """``enum.Enum`` for functions (class statements only)."""


class IntEnum(enum.IntEnum, metaclass=_SandboxEnumType):
    """``enum.IntEnum`` for functions (class statements only)."""


class StrEnum(enum.StrEnum, metaclass=_SandboxEnumType):
    """``enum.StrEnum`` for functions (class statements only)."""


class Flag(enum.Flag, metaclass=_SandboxEnumType):
    """``enum.Flag`` for functions (class statements only)."""


class IntFlag(enum.IntFlag, metaclass=_SandboxEnumType):
    """``enum.IntFlag`` for functions (class statements only)."""


def dataclass(cls: type | None = None, /, **kwargs: Any) -> Any:
    """``dataclasses.dataclass`` for classes the function defines."""

    def wrap(target: type) -> type:
        if not isinstance(target, type) or not is_customer_class(target):
            deny("dataclass", "dataclass() applies only to classes defined in the function")
        return register_class(dataclasses.dataclass(**kwargs)(target))

    return wrap if cls is None else wrap(cls)


def replace(obj: Any, /, **changes: Any) -> Any:
    """``dataclasses.replace`` for instances of the function's own dataclasses.

    On a library dataclass it would build an instance with any field values (a pydantic
    decorator's info with a string type, for one), bypassing every constructor the sandbox guards.
    """
    if not is_customer_class(type(obj)):
        deny(
            "dataclass",
            "replace() applies only to instances of dataclasses defined in the function",
        )
    return dataclasses.replace(obj, **changes)


STDLIB_SUBSTITUTES: dict[tuple[str, str], object] = {
    ("enum", "Enum"): Enum,
    ("enum", "IntEnum"): IntEnum,
    ("enum", "StrEnum"): StrEnum,
    ("enum", "Flag"): Flag,
    ("enum", "IntFlag"): IntFlag,
    ("dataclasses", "dataclass"): dataclass,
    ("dataclasses", "replace"): replace,
}
"""(module, name) → the object customer code gets instead of the real one."""
