"""Keep raw pydantic-core schemas from function code out of pydantic.

pydantic's ``GenerateSchema`` takes a ``dict`` offered as a type for a finished pydantic-core
schema. Such a schema can make pydantic-core read any attribute of any object, past every
guard. ``install_schema_guard`` wraps the methods through which every type reaches pydantic's
schema builder (top level and nested positions alike), so a dict, a ``Mapping`` or a
mapping-like object offered as a type is refused when the schema is built, whatever it held
when it was written. It also hands every finished schema to ``check_core_schema``.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from typing import Any

import pydantic
import pydantic.dataclasses
import pydantic.functional_serializers
import pydantic.functional_validators
import pydantic.type_adapter
from pydantic._internal import _dataclasses, _generate_schema, _model_construction

from sandbox._errors import deny
from sandbox._schema_check import check_core_schema

RULE = "pydantic_raw_schema"
"""The violation rule of a refused raw schema."""

_MESSAGE = (
    "a {kind} cannot be used as a type: pydantic would take it for a raw pydantic-core "
    "schema, which functions may not write; use a model, a dataclass or a typing form"
)
_MARK = "__corral_schema_guard__"
_TYPE_POSITIONS: dict[str, int] = {
    "generate_schema": 1,
    "_generate_schema_inner": 1,
    "_generate_schema_from_get_schema_method": 1,
    "match_type": 1,
}

# Imported for their side effects: every module that builds schemas is loaded before function
# code runs, so none can be imported later around the wrapped class.
_LOADED = (
    pydantic.dataclasses,
    pydantic.functional_serializers,
    pydantic.functional_validators,
    pydantic.type_adapter,
    _dataclasses,
    _model_construction,
)


def is_mapping_like(value: object) -> bool:
    """Whether ``value`` is a dict, a ``Mapping`` or an instance of a mapping-like class.

    Mapping-like: its class has ``keys`` and ``__getitem__`` or ``get``, what code that reads
    a mapping without checking its type would use.

    A class itself, and a parametrised generic such as ``dict[str, int]``, are types, not
    mappings.
    """
    if isinstance(value, (dict, Mapping)):
        return True
    if isinstance(value, type) or typing.get_origin(value) is not None:
        return False
    cls = type(value)
    return hasattr(cls, "keys") and (hasattr(cls, "__getitem__") or hasattr(cls, "get"))


def refuse_raw_schema(value: object) -> None:
    """Refuse ``value`` where pydantic takes a type.

    Raises:
        SandboxViolation: ``pydantic_raw_schema`` when ``value`` is mapping-like.
    """
    if is_mapping_like(value):
        kind = "dict" if isinstance(value, dict) else "mapping"
        deny(RULE, _MESSAGE.format(kind=kind))


def _guard_type_argument(method: Callable[..., Any], position: int) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position:
            refuse_raw_schema(args[position])
        elif "obj" in kwargs:
            refuse_raw_schema(kwargs["obj"])
        return method(*args, **kwargs)

    setattr(guarded, _MARK, True)
    return guarded


def _guard_clean_schema(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def checked(self: Any, schema: Any) -> Any:
        cleaned = method(self, schema)
        check_core_schema(cleaned)
        return cleaned

    setattr(checked, _MARK, True)
    return checked


def install_schema_guard() -> None:
    """Wrap pydantic's schema builder, once per process (later calls do nothing)."""
    generator = _generate_schema.GenerateSchema
    if getattr(vars(generator)["clean_schema"], _MARK, False):
        return
    for name, position in _TYPE_POSITIONS.items():
        setattr(generator, name, _guard_type_argument(vars(generator)[name], position))
    generator.clean_schema = _guard_clean_schema(  # type: ignore[method-assign]
        vars(generator)["clean_schema"]
    )
