"""What function code may hold: the allow-list every value entering it is checked against.

``check_value(v)`` returns ``v`` (or a sandbox stand-in for it) when function code may hold it,
and refuses it otherwise (rule ``restricted_value``, naming the type). Allowed:

* plain values, by type identity (the fast path): ``str``, ``int``, ``float``, ``bool``,
  ``None``, ``bytes``, ``list``, ``dict``, ``tuple``, ``set``, ``frozenset``, ``datetime``
  values, ``Decimal``, ``UUID``...;
* instances of classes function code made, and exceptions of any class;
* instances of library value types: classes of ``builtins`` and of the allowed modules (and
  their C implementations), pydantic, pydantic-core, ``typing`` forms, the SDK (classes defined
  in the modules that define the SDK's names, and their subclasses) and the sandbox's own
  stand-ins (facades, ``type``, read-only views);
* classes function code made (or a library made from them: pydantic generics, ``dataclass``),
  and classes it can name (builtins, exceptions, classes of allowed modules and of the SDK);
* functions function code made; callables it can name (builtins, module members, SDK
  functions); bound methods and method descriptors whose ``self`` (or class) is an allowed value
  and whose name is public (``format``/``format_map`` only as the sandbox's stand-ins); the
  decorators that library decorator factories return (``field_validator(...)``,
  ``dataclass(...)``...);
* generators of function code; a library generator comes back as an ``IteratorFacade``
  (iteration only: no ``send``, ``throw`` or frame).

Never: modules, library functions and builtins it could not name, code, frames, tracebacks,
cells, coroutines, ``mappingproxy`` objects, descriptors of library classes, other classes.

Containers are not walked: every route out of one (subscript, iteration, unpacking, call
results, callback parameters, attribute reads) is itself checked. The common cases cost a set
lookup: plain types, customer classes (by ``id``), library types already allowed once, public
methods of plain or customer values. docs/security.md, "What function code can hold", lists the
routes and what stays unchecked.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import operator
import sys
import types
import typing
import uuid
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

from sandbox.language._errors import FILE_KEY, deny
from sandbox.language._format import bound_format, safe_format, safe_format_map
from sandbox.language._registry import CUSTOMER_CLASS_IDS, is_customer_class

MODULE_PREFIX = "corral_function."
"""Prefix of customer modules' ``__name__`` (classes a library makes for them carry it)."""

FAST_TYPES: frozenset[type] = frozenset(
    {
        *(str, int, float, bool, bytes, complex, type(None), list, dict, tuple, set, frozenset),
        *(bytearray, range, slice, datetime.datetime, datetime.date, datetime.time),
        *(datetime.timedelta, datetime.timezone, decimal.Decimal, uuid.UUID),
    }
)
"""Types whose values are allowed without further look (checked by identity)."""

_FORBIDDEN_KINDS: frozenset[type] = frozenset(
    {
        *(types.ModuleType, types.FrameType, types.TracebackType, types.CodeType),
        *(types.CellType, types.MappingProxyType, types.CoroutineType, types.AsyncGeneratorType),
        *(types.GetSetDescriptorType, types.MemberDescriptorType),
        typing.ForwardRef,  # a string typing would evaluate as code (``Optional[int] | "..."``)
        # Callables that call what they hold, with arguments a caller may add or replace: a
        # library's partial of its private method (pydantic's computed-field ``setter``, whose
        # ``name=`` keyword a caller replaced) is a getattr of any name, past the guards.
        *(functools.partial, functools.partialmethod),
        *(operator.attrgetter, operator.itemgetter, operator.methodcaller),
    }
)
_FORMAT_NAMES = frozenset({"format", "format_map"})
_METHOD_KINDS: frozenset[type] = frozenset({types.BuiltinMethodType, types.MethodType})
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType)
_BOUND = (types.MethodType, types.MethodWrapperType)
_DESCRIPTORS = (
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.ClassMethodDescriptorType,
)

_PLAIN_ITERABLES: frozenset[type] = frozenset({str, bytes, range, bytearray})

_LIBRARY_ROOTS = frozenset(
    {
        *("builtins", "types", "typing", "typing_extensions", "collections", "itertools"),
        *("functools", "operator", "enum", "abc", "datetime", "decimal", "uuid", "re", "json"),
        *("hashlib", "hmac", "base64", "math", "secrets", "random", "urllib", "dataclasses"),
        *("pydantic", "pydantic_core", "annotated_types", "zoneinfo", "string", "sandbox"),
        *("corral", "runner"),
    }
)
"""Module roots whose instances are library value types (C modules: ``_sre`` → ``re``...)."""

_DECORATORS = frozenset(
    {
        "pydantic.functional_validators:field_validator.<locals>.dec",
        "pydantic.functional_validators:model_validator.<locals>.dec",
        "pydantic.functional_serializers:field_serializer.<locals>.dec",
        "pydantic.functional_serializers:model_serializer.<locals>.dec",
        "pydantic.fields:computed_field.<locals>.dec",
        "sandbox.language._stdlib:dataclass.<locals>.wrap",
        "dataclasses:dataclass.<locals>.wrap",
        "functools:lru_cache.<locals>.decorating_function",
    }
)
"""``module:qualname`` of the decorators library decorator factories return."""

_STAND_INS: frozenset[object] = frozenset(
    {safe_format, safe_format_map, bound_format("", "format").__code__}
)
"""The sandbox's stand-ins for ``str.format`` and ``format_map`` (functions or their code)."""

_nameable: dict[int, object] = {}
_sdk_names: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_library_kinds: set[type] = set()
_sdk_modules: set[str] = set()


def register_nameable(values: Iterable[object]) -> None:
    """Mark values function code can name (builtins, module members, SDK names) as allowed."""
    for value in values:
        _nameable.setdefault(id(value), value)


def register_sdk(values: Iterable[object]) -> None:
    """Allow the SDK's names, and instances of classes of the modules that define them.

    Held weakly where the value allows it: a load's SDK mapping may be built for that load.
    """
    for value in values:
        try:
            _sdk_names[id(value)] = value
        except TypeError:  # no weak reference to it: keep it
            _nameable.setdefault(id(value), value)
        module = getattr(value, "__module__", None)
        if isinstance(module, str) and module != "builtins":
            _sdk_modules.add(module)


class IteratorFacade:
    """A library generator as function code holds it: iteration only."""

    __slots__ = ("_facade_iterator",)

    _facade_iterator: Iterator[Any]

    def __init__(self, iterator: Iterator[Any]) -> None:
        object.__setattr__(self, "_facade_iterator", iterator)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("iterator facades cannot be subclassed")

    def __iter__(self) -> IteratorFacade:
        return self

    def __next__(self) -> Any:
        return next(self._facade_iterator)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("iterators are read-only")

    def __repr__(self) -> str:
        return "<iterator (sandboxed)>"


def is_module_namespace(value: object) -> bool:
    """Whether ``value`` is a module's namespace (a library function's globals, the real
    builtins): never for function code to read or write, however it got there."""
    if type(value) is not dict:
        return False
    name = dict.get(value, "__name__")
    module = sys.modules.get(name) if type(name) is str else None
    return module is not None and getattr(module, "__dict__", None) is value


def check_value(value: Any) -> Any:
    """``value`` (or its stand-in) when function code may hold it; a violation otherwise."""
    kind = type(value)
    if kind is dict and is_module_namespace(value):
        deny("restricted_value", "a module's namespace cannot be used in functions")
    if kind in FAST_TYPES or id(kind) in CUSTOMER_CLASS_IDS or kind in _library_kinds:
        return value
    return _checked(value, kind)


def _checked(value: Any, kind: type) -> Any:
    if kind in _METHOD_KINDS:  # the common case: a public method of a plain or customer value
        owner = type(value.__self__)
        plain_owner = owner in FAST_TYPES or id(owner) in CUSTOMER_CLASS_IDS
        if plain_owner and _public(value.__name__):
            return value
    if kind is types.GeneratorType:
        frame = value.gi_frame
        if frame is None or FILE_KEY in frame.f_globals:  # finished, or function code's own
            return value
        return IteratorFacade(value)
    if (
        id(value) in _nameable
        or id(value) in _sdk_names
        or (kind not in _FORBIDDEN_KINDS and _permitted(value, kind))
    ):
        return value
    return _refuse(value)


def _permitted(value: Any, kind: type) -> bool:
    if isinstance(value, type):
        return _allowed_class(value)
    if isinstance(value, _FUNCTIONS):
        return _own_function(value) or _decorator(value) or _bound_builtin(value)
    if isinstance(value, _BOUND):
        return _public(value.__name__) and _allowed(value.__self__)
    if isinstance(value, _DESCRIPTORS):
        return _public(value.__name__) and _allowed_class(value.__objclass__)
    if isinstance(value, BaseException) or _library_type(kind):
        _library_kinds.add(kind)  # decided by the type alone: later values skip the checks
        return True
    return _allowed_class(kind)  # a class a library made for function code (not cached)


def _allowed(value: object) -> bool:
    try:
        check_value(value)
    except Exception:
        return False
    return True


def _public(name: object) -> bool:
    """A public method name (``format``/``format_map`` only come as the sandbox's stand-ins)."""
    return isinstance(name, str) and name[:1] != "_" and name not in _FORMAT_NAMES


def _allowed_class(cls: type) -> bool:
    if id(cls) in _nameable or id(cls) in _sdk_names or is_customer_class(cls):
        return True
    if str(getattr(cls, "__module__", "")).startswith(MODULE_PREFIX):
        return True
    return any(is_customer_class(base) for base in cls.__mro__[1:])


def _own_function(func: Any) -> bool:
    return isinstance(func, types.FunctionType) and FILE_KEY in func.__globals__


def _decorator(func: Any) -> bool:
    if func in _STAND_INS or getattr(func, "__code__", None) in _STAND_INS:
        return True
    return f"{func.__module__}:{func.__qualname__}" in _DECORATORS


def _bound_builtin(func: Any) -> bool:
    """A builtin method bound to an allowed value (``"a".upper``), not a module function."""
    owner = getattr(func, "__self__", None)
    if owner is None or isinstance(owner, types.ModuleType) or not _public(func.__name__):
        return False
    return _allowed(owner)


def _library_type(kind: type) -> bool:
    if any(base.__module__ in _sdk_modules for base in kind.__mro__[:-1]):
        return True
    root = str(kind.__module__).partition(".")[0].lstrip("_")
    return root in _LIBRARY_ROOTS or root in {"sre", "hashlib", "blake2", "sha3", "md5", "sha1"}


def _describe(value: object) -> str:
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__}"
    kind = type(value)
    described = f"a {kind.__module__}.{kind.__qualname__} object"
    name = getattr(value, "__qualname__", None) if callable(value) else None
    return f"{described} ({name})" if isinstance(name, str) else described


def _refuse(value: object) -> NoReturn:
    deny("restricted_value", f"{_describe(value)} cannot be held by function code")


def check_arguments(*values: Any) -> tuple[Any, ...]:
    """The parameters of a ``def`` of function code, checked on entry (rebound to the result)."""
    for value in values:
        kind = type(value)
        if kind not in FAST_TYPES and id(kind) not in CUSTOMER_CLASS_IDS:
            return tuple(map(check_value, values))
    return values


def check_parameters(*values: Any) -> None:
    """The parameters of a ``lambda`` of function code, checked on entry (nothing replaced)."""
    for value in values:
        kind = type(value)
        if kind in FAST_TYPES or id(kind) in CUSTOMER_CLASS_IDS:
            continue
        if check_value(value) is not value:
            _refuse(value)


def checked_iter(iterable: Any) -> Iterator[Any]:
    """``_getiter_``: iteration in function code, every item checked."""
    if type(iterable) in _PLAIN_ITERABLES:
        return iter(iterable)
    return map(check_value, check_value(iterable))
