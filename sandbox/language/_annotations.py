"""Keep strings out of type annotations.

pydantic (and ``typing``) evaluate a string annotation, or a ``ForwardRef``, with the real
``eval``: a string that reaches them is code that runs outside the sandbox. Customer code is
compiled without ``from __future__ import annotations`` so annotations are objects, literal
strings are refused at compile time, and these checks refuse the rest at run time: every
annotation, every type given to a pydantic decorator and every subscription of a class or a
``typing`` form (``List["X"]`` builds the ``ForwardRef`` right away).

The same walk refuses a dict or mapping in a type position early, where the author wrote it
(``pydantic_raw_schema``); ``_schema_guard`` refuses it again when pydantic builds the schema,
which is the check that holds whatever happens to the value in between.
"""

from __future__ import annotations

import enum
import typing
from typing import Any

from sandbox.language._errors import deny
from sandbox.language._schema_guard import refuse_raw_schema

_MAX_DEPTH = 32
_LITERAL_VALUES = frozenset({str, bytes, int, bool, type(None)})

_STRING_MESSAGE = (
    "string annotations are not allowed: write the type itself, not its name in quotes "
    "(annotations are never evaluated from strings in functions)"
)


def check_annotation(value: Any) -> Any:
    """Return ``value`` if no string or forward reference hides in it, else refuse it.

    Raises:
        SandboxViolation: ``string_annotation`` when a string or ``ForwardRef`` is found.
    """
    _walk(value, 0)
    return value


def check_subscription(target: Any, key: Any) -> None:
    """Refuse ``target[key]`` if it would build a type from a string.

    ``Literal[...]`` takes strings as values and ``Annotated[T, ...]`` takes any metadata;
    only the type parts are checked.
    """
    if target is typing.Literal:
        _check_literal_values(key if type(key) is tuple else (key,))
        return
    _refuse_subclassed_container(key)
    keys = key if isinstance(key, tuple) else (key,)
    if target is typing.Annotated:
        keys = keys[:1]
    for item in keys:
        _walk(item, 0)


def _walk(value: Any, depth: int) -> None:
    if isinstance(value, (str, bytes, typing.ForwardRef)):
        deny("string_annotation", _STRING_MESSAGE)
    if depth > _MAX_DEPTH:
        deny("string_annotation", "annotation is nested too deeply to be checked")
    refuse_raw_schema(value)
    _refuse_subclassed_container(value)
    if isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, depth + 1)
        return
    if isinstance(value, typing.TypeVar):
        _walk(value.__constraints__, depth + 1)
        if value.__bound__ is not None:
            _walk(value.__bound__, depth + 1)
        return
    _walk_args(value, depth)


def _walk_args(value: Any, depth: int) -> None:
    origin = typing.get_origin(value)
    args = typing.get_args(value)
    if origin is typing.Literal:
        _check_literal_values(args)
        return
    _refuse_subclassed_container(args)
    if origin is typing.Annotated:
        args = args[:1]
    for item in args:
        _walk(item, depth + 1)


def _check_literal_values(values: Any) -> None:
    """``Literal[...]`` takes values: strings, bytes, numbers, booleans, ``None``, enum members
    (and nested literals). Anything else there (a ``ForwardRef`` or a type form that holds one,
    made by ``Optional[int] | "..."``) is what ``typing`` would evaluate as code."""
    _refuse_subclassed_container(values)
    for value in values:
        if type(value) in _LITERAL_VALUES or isinstance(value, enum.Enum):
            continue
        if typing.get_origin(value) is typing.Literal:
            _check_literal_values(typing.get_args(value))
            continue
        deny(
            "string_annotation",
            f"Literal[...] takes strings, numbers, booleans, None and enum members, not a "
            f"{type(value).__qualname__!r}",
        )


def _refuse_subclassed_container(value: object) -> None:
    """A list or tuple in a type is a plain one: a subclass's iteration could show these checks
    other items than ``typing`` and pydantic read later (``list[args]`` keeps ``args`` itself)."""
    if isinstance(value, (list, tuple)) and type(value) not in (list, tuple):
        deny(
            "string_annotation",
            f"a type may hold only plain lists and tuples, not a {type(value).__qualname__!r}",
        )
