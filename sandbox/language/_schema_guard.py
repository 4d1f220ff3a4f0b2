"""Keep raw pydantic-core schemas from function code out of pydantic.

pydantic's ``GenerateSchema`` takes a ``dict`` offered as a type for a finished pydantic-core
schema. Such a schema can make pydantic-core read any attribute of any object, past every
guard. ``install_schema_guard`` wraps the methods through which every type reaches pydantic's
schema builder (top level and nested positions alike), so a dict, a ``Mapping`` or a
mapping-like object offered as a type is refused when the schema is built, whatever it held
when it was written. A ``__get_pydantic_core_schema__`` hook whose code belongs to function code
(on a type or on ``Annotated`` metadata) is refused too: pydantic uses the schema it returns as
it is. Every finished schema then goes to ``check_core_schema``.
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

from sandbox.language._descriptor_proxy import install_proxy_attributes
from sandbox.language._errors import deny, made_by_function
from sandbox.language._forward_refs import install_forward_ref_guard
from sandbox.language._registry import is_customer_class
from sandbox.language._schema_check import check_core_schema

RULE = "pydantic_raw_schema"
"""The violation rule of a refused raw schema."""

_MESSAGE = (
    "a {kind} cannot be used as a type: pydantic would take it for a raw pydantic-core "
    "schema, which functions may not write; use a model, a dataclass or a typing form"
)
_HOOK_MESSAGE = (
    "a schema hook written in a function cannot be used by pydantic: its result would be a raw "
    "pydantic-core schema"
)
_MARK = "__corral_schema_guard__"
_HOOK = "__get_pydantic_core_schema__"

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


def refuse_function_hook(value: object) -> None:
    """Refuse ``value`` if its schema hook is not a library class's own.

    A hook returns a schema that pydantic uses as it is. Function code cannot define one (a
    private name), but it may get one onto an object another way: a library method that writes
    any name into an instance (``model_copy(update=...)``), or a callable that is not its own
    code at all (a builtin's bound method, which returns what the function put in it). So a
    hook is allowed only where a library class defines it: not in an instance's own namespace,
    not on a class of the function's, and not made by function code.

    Raises:
        SandboxViolation: ``pydantic_raw_schema`` for any other hook.
    """
    hook = getattr(value, _HOOK, None)
    if hook is None:
        return
    own = vars(value) if hasattr(value, "__dict__") and not isinstance(value, type) else {}
    owner = next(
        (cls for cls in _classes_of(value) if _HOOK in vars(cls)),
        None,
    )
    if (
        _HOOK in own
        or owner is None
        or is_customer_class(owner)
        or made_by_function(vars(owner)[_HOOK])
    ):
        deny(RULE, _HOOK_MESSAGE)


def _classes_of(value: object) -> tuple[type, ...]:
    """Where an attribute of ``value`` is looked up: a class's own MRO, or an instance's class's."""
    return value.__mro__ if isinstance(value, type) else type(value).__mro__


def _refuse_type(value: object) -> None:
    refuse_raw_schema(value)
    refuse_function_hook(value)


# GenerateSchema method → (position of the argument to check, its keyword name, the check).
_GUARDED: dict[str, tuple[int, str, Callable[[object], None]]] = {
    "generate_schema": (1, "obj", _refuse_type),
    "_generate_schema_inner": (1, "obj", _refuse_type),
    "_generate_schema_from_get_schema_method": (1, "obj", _refuse_type),
    "match_type": (1, "obj", _refuse_type),
    "_get_wrapped_inner_schema": (2, "annotation", refuse_function_hook),
}


def _guard_argument(
    method: Callable[..., Any], position: int, keyword: str, check: Callable[[object], None]
) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position:
            check(args[position])
        elif keyword in kwargs:
            check(kwargs[keyword])
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
    install_forward_ref_guard()
    install_proxy_attributes()
    generator = _generate_schema.GenerateSchema
    if getattr(vars(generator)["clean_schema"], _MARK, False):
        return
    for name, (position, keyword, check) in _GUARDED.items():
        setattr(generator, name, _guard_argument(vars(generator)[name], position, keyword, check))
    generator.clean_schema = _guard_clean_schema(  # type: ignore[method-assign]
        vars(generator)["clean_schema"]
    )
