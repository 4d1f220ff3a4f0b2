"""Guarded stand-ins for standard-library names that could build classes behind the compiler.

* ``enum``: the functional API (``Enum("Name", [("__dunder__", f)])``) defines arbitrary special
  methods, which a class statement may not; our enum bases refuse it (lookups by value work).
* ``dataclasses.dataclass`` rewrites the class it is given, ``dataclasses.replace`` builds a new
  instance with any field values: only customer classes and their instances qualify.
* ``urllib.parse`` quoting caches a quoter per ``safe`` value for the whole process: ``safe`` is
  passed on as a plain ``str``/``bytes`` (a subclass that compares equal to ``b"/"`` but iterates
  other characters would otherwise make every later ``quote()`` leave ``?``, ``&``, ``#`` as
  they are).
"""

from __future__ import annotations

import dataclasses
import enum
import urllib.parse
from collections.abc import Callable
from typing import Any

from sandbox.language._builtin_overrides import refuse_builtin_overrides
from sandbox.language._errors import deny
from sandbox.language._registry import is_customer_class, register_class


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
        made: type = dataclasses.dataclass(**kwargs)(target)
        refuse_builtin_overrides(made)  # the methods it writes (``__eq__``, ``__hash__``...)
        return register_class(made)

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


def _plain(value: Any) -> Any:
    """An exact ``str`` or ``bytes`` copy of a (possibly subclassed) string, else ``value``."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes | bytearray):
        return bytes.__bytes__(value) if isinstance(value, bytes) else bytes(value)
    return value


def quote(string: Any, safe: Any = "/", encoding: Any = None, errors: Any = None) -> str:
    """``urllib.parse.quote`` (``safe`` as a plain string)."""
    return urllib.parse.quote(string, _plain(safe), encoding, errors)


def quote_plus(string: Any, safe: Any = "", encoding: Any = None, errors: Any = None) -> str:
    """``urllib.parse.quote_plus`` (``safe`` as a plain string)."""
    return urllib.parse.quote_plus(string, _plain(safe), encoding, errors)


def quote_from_bytes(bs: Any, safe: Any = "/") -> str:
    """``urllib.parse.quote_from_bytes`` (``safe`` as a plain string)."""
    return urllib.parse.quote_from_bytes(bs, _plain(safe))


def urlencode(  # noqa: PLR0917 - urllib.parse.urlencode's own signature
    query: Any,
    doseq: bool = False,
    safe: Any = "",
    encoding: Any = None,
    errors: Any = None,
    quote_via: Callable[..., str] = quote_plus,
) -> str:
    """``urllib.parse.urlencode`` (``safe`` as a plain string)."""
    return urllib.parse.urlencode(query, doseq, _plain(safe), encoding, errors, quote_via)


STDLIB_SUBSTITUTES: dict[tuple[str, str], object] = {
    ("enum", "Enum"): Enum,
    ("enum", "IntEnum"): IntEnum,
    ("enum", "StrEnum"): StrEnum,
    ("enum", "Flag"): Flag,
    ("enum", "IntFlag"): IntFlag,
    ("dataclasses", "dataclass"): dataclass,
    ("dataclasses", "replace"): replace,
    ("urllib.parse", "quote"): quote,
    ("urllib.parse", "quote_plus"): quote_plus,
    ("urllib.parse", "quote_from_bytes"): quote_from_bytes,
    ("urllib.parse", "urlencode"): urlencode,
}
"""(module, name) → the object customer code gets instead of the real one."""
