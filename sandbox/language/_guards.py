"""The run-time guards that compiled customer code calls for attributes, items and writes.

Every refusal is recorded and raised (``sandbox.language._errors.deny``). Reads are checked
twice: the name against the object (private names, interpreter internals, ``str.format``), then
the value (modules, frames, code, ``type`` and metaclasses, unsafe builtins and pydantic methods
outside the policy never reach customer code). Writes are allowed only on objects the function
made.
"""

from __future__ import annotations

import abc
import builtins
import enum
import importlib
import types
import typing
import unicodedata
from collections.abc import Callable, Iterable
from types import FunctionType, MethodType, ModuleType
from typing import Any, cast

import pydantic

from sandbox.language._allowlist import (
    check_arguments,
    check_parameters,
    check_value,
    checked_iter,
    is_module_namespace,
)
from sandbox.language._annotations import check_annotation, check_subscription
from sandbox.language._arith import Arithmetic
from sandbox.language._builtin_overrides import CheckedWrites, needs_write_check
from sandbox.language._errors import SandboxViolation, deny
from sandbox.language._facades import ModuleFacade, facade_name
from sandbox.language._format import safe_format_value
from sandbox.language._policy import Policy
from sandbox.language._registry import is_customer_class
from sandbox.language._types import TYPE_FORM, GuardedType
from sandbox.language._views import ReadOnlyMapping

Refusal = tuple[str, str] | None

_RESTRICTED_TYPES: frozenset[type] = frozenset(
    {
        ModuleType,
        types.FrameType,
        types.CodeType,
        types.TracebackType,
        types.CoroutineType,
        types.AsyncGeneratorType,
    }
)
_GENERATOR_ATTRIBUTES = frozenset({"send", "throw", "close", "gi_running", "gi_suspended"})
_FORMAT_NAMES = frozenset({"format", "format_map"})
_INSPECTED_OBJECTS: frozenset[type] = _RESTRICTED_TYPES | {types.GeneratorType}
_PLAIN_VALUES: frozenset[type] = frozenset({str, int, float, bool, bytes, complex, type(None)})
_PLAIN_CONTAINERS: frozenset[type] = frozenset({dict, list, tuple, str, bytes})
_MODEL_MAPPINGS = frozenset({"model_config", "model_fields", "model_computed_fields"})
_WRITABLE_BUILTINS: frozenset[type] = frozenset({dict, list, set, bytearray})
_CONTAINERS = (dict, list, set, bytearray)
_MISSING = object()
_UNSAFE_BUILTINS = (
    *("eval", "exec", "compile", "open", "__import__", "__build_class__", "globals", "locals"),
    *("vars", "getattr", "setattr", "delattr", "hasattr", "input", "breakpoint", "help"),
    *("exit", "quit", "type"),
)
_UNSAFE_IDS: frozenset[int] = frozenset(
    id(getattr(builtins, name)) for name in _UNSAFE_BUILTINS if hasattr(builtins, name)
) | {id(importlib.import_module), id(importlib.__import__)}
_DENIED_FUNCTIONS: frozenset[object] = frozenset({abc.ABCMeta.register})
# Only types.GenericAlias: calling type[X] calls type(); typing.Type[X] refuses to be called.
_ALIAS_TYPES: frozenset[type] = frozenset({types.GenericAlias})


def _describe(obj: object) -> str:
    if isinstance(obj, ModuleFacade):
        return f"module {facade_name(obj)!r}"
    if isinstance(obj, type):
        return f"class {obj.__qualname__!r}"
    return f"a {type(obj).__qualname__!r} object"


def _name_refusal(name: object, blocked: frozenset[str]) -> Refusal:
    if type(name) is not str:
        return ("attribute_name", "attribute names must be plain strings")
    if not name.isascii() and unicodedata.normalize("NFKC", name) != name:
        return ("attribute_name", f"attribute name {name!r} is not in normalised (NFKC) form")
    if name.startswith("_"):
        return (
            "private_attribute",
            f"access to {name!r} is not allowed: names beginning with '_' are private",
        )
    if name in blocked:
        return (
            "restricted_attribute",
            f"access to {name!r} is not allowed: it exposes interpreter internals",
        )
    return None


def _object_refusal(obj: object, name: str) -> Refusal:
    kind = type(obj)
    if kind in _RESTRICTED_TYPES or isinstance(obj, ModuleType):
        return ("restricted_object", f"{_describe(obj)} cannot be inspected in functions")
    if kind is types.GeneratorType and name not in _GENERATOR_ATTRIBUTES:
        return ("restricted_attribute", f"generator attribute {name!r} is not allowed")
    if name == "obj" and isinstance(obj, AttributeError):  # CVE-2024-47532
        return ("restricted_attribute", "the 'obj' of an AttributeError is not available")
    return None


def _value_refusal(value: object) -> Refusal:
    kind = type(value)
    if kind in _RESTRICTED_TYPES or isinstance(value, ModuleType):
        return ("restricted_object", f"{_describe(value)} cannot be used in functions")
    if id(value) in _UNSAFE_IDS:
        return ("forbidden_builtin", "this builtin is not available in functions")
    if isinstance(value, type) and issubclass(value, type):
        return ("metaclass", "metaclasses are not available in functions")
    if kind in _ALIAS_TYPES and getattr(value, "__origin__", None) is type:
        return ("metaclass", "type[...] objects are not available in functions")
    return None


class Guards:
    """The guard functions for one policy (shared by every load under that policy)."""

    def __init__(self, policy: Policy) -> None:
        self.blocked = policy.blocked_attributes
        self.dunders = policy.dunder_methods
        self.pydantic_methods = policy.pydantic_methods
        self.writable_types = policy.writable_types
        self.arithmetic = Arithmetic(policy)
        self.slow_names = self.blocked | _FORMAT_NAMES | {"obj"}

    def refusal(self, obj: object, name: object) -> Refusal:
        """Why ``obj.name`` may not be read (before looking it up), or ``None``."""
        return _name_refusal(name, self.blocked) or _object_refusal(
            reached(obj, str(name)), str(name)
        )

    def value_refusal(self, obj: object, value: object) -> Refusal:
        """Why a looked-up value may not reach customer code, or ``None``."""
        refusal = _value_refusal(value)
        if refusal is None and not isinstance(obj, ModuleFacade):
            refusal = self._method_refusal(value)
        return refusal

    def _method_refusal(self, value: object) -> Refusal:
        func: Any
        if isinstance(value, MethodType):
            func = value.__func__
        elif isinstance(value, FunctionType):
            func = value
        else:
            return None
        if func in _DENIED_FUNCTIONS:
            return ("restricted_method", f"{func.__qualname__}() is not allowed in functions")
        module = getattr(func, "__module__", None) or ""
        if module.startswith("pydantic") and func.__qualname__ not in self.pydantic_methods:
            return (
                "pydantic_method",
                f"pydantic's {func.__qualname__}() is not allowed in functions",
            )
        return None

    def getattr(self, obj: object, name: str, *default: object) -> object:
        """``obj.name`` and the ``getattr`` builtin in customer code."""
        # The common case (a plain public name on an ordinary object) skips the full checks.
        if (
            type(name) is not str
            or name in self.slow_names
            or name[:1] == "_"
            or not name.isascii()
            or type(obj) in _INSPECTED_OBJECTS
            or isinstance(obj, ModuleType)
        ):
            refusal = self.refusal(obj, name)
            if refusal:
                deny(*refusal)
        value = getattr(obj, name, *default)
        if type(value) in _PLAIN_VALUES:
            return value
        if name in _FORMAT_NAMES:
            value = safe_format_value(value)
        refusal = self.value_refusal(obj, value)
        if refusal:
            deny(*refusal)
        if not isinstance(obj, ModuleFacade):  # a facade's members are names it can import
            value = check_value(value)
        return self._read_only(obj, name, value)

    def _read_only(self, obj: object, name: str, value: object) -> object:
        """Shared library state comes back as a read-only view.

        Shared: anything read from a library class, and a container a library class stores
        that is read through an instance or a customer subclass (``Field().metadata_lookup`` is
        pydantic's ``FieldInfo.metadata_lookup``, consulted by every later ``Field(...)``).
        """
        if not isinstance(value, _CONTAINERS):
            return value
        owner = reached(obj, name)
        if (
            name in _MODEL_MAPPINGS
            or _foreign_class(owner)
            or _library_attribute(owner, name, value)
        ):
            return _view(value)
        return value

    def hasattr(self, obj: object, name: str) -> bool:
        """``hasattr`` in customer code: false for anything ``getattr`` would refuse."""
        if self.refusal(obj, name):
            return False
        try:
            value = getattr(obj, name)
        except AttributeError:
            return False
        if self.value_refusal(obj, value) is not None:
            return False
        try:
            check_value(value)
        except SandboxViolation:
            return False
        return True

    def setattr(self, obj: object, name: str, value: object) -> None:
        """The ``setattr`` builtin in customer code."""
        refusal = _name_refusal(name, self.blocked)
        if refusal:
            deny(*refusal)
        setattr(self.write(obj), name, value)

    def delattr(self, obj: object, name: str) -> None:
        """The ``delattr`` builtin in customer code."""
        refusal = _name_refusal(name, self.blocked)
        if refusal:
            deny(*refusal)
        delattr(self.write(obj), name)

    def dir(self, *args: object) -> list[str]:
        """``dir(obj)`` in customer code: only the names ``getattr`` would allow."""
        if len(args) != 1:
            deny("forbidden_builtin", "dir() needs exactly one argument in functions")
        obj = args[0]
        return [name for name in builtins.dir(obj) if self.refusal(obj, name) is None]

    def getitem(self, obj: Any, key: Any) -> object:
        """``obj[key]`` in customer code."""
        if type(obj) not in _PLAIN_CONTAINERS and _builds_type(obj):
            check_subscription(obj, key)
        value = obj[key]
        if type(value) in _PLAIN_VALUES:
            return value
        refusal = self.value_refusal(obj, value)
        if refusal:
            deny(*refusal)
        return check_value(value)

    def write(self, obj: object) -> object:
        """The target of ``obj.x = ...``, ``obj[k] = ...`` or ``del``: only the function's own."""
        if not self._writable(obj):
            message = f"cannot modify {_describe(obj)}: functions may only change objects they made"
            deny("write", message)
        if needs_write_check(obj):
            return CheckedWrites(obj)
        return obj

    def _writable(self, obj: object) -> bool:
        kind = type(obj)
        if kind is dict and is_module_namespace(obj):
            return False  # the guards' own state, a library's globals
        if kind in _WRITABLE_BUILTINS or is_customer_class(kind):
            return True
        if isinstance(obj, type):
            return is_customer_class(obj) and not issubclass(obj, (pydantic.BaseModel, enum.Enum))
        return f"{kind.__module__}.{kind.__qualname__}" in self.writable_types

    def inplace_attr(self, obj: object, name: str, op: str, value: object) -> None:
        """``obj.name op= value`` in customer code."""
        result = self.arithmetic.inplace(op, self.getattr(obj, name), value)
        setattr(self.write(obj), name, result)

    def inplace_item(self, obj: Any, key: object, op: str, value: object) -> None:
        """``obj[key] op= value`` in customer code."""
        result = self.arithmetic.inplace(op, self.getitem(obj, key), value)
        self.write(obj)[key] = result  # type: ignore[index]

    def super_attr(self, obj: object, name: str) -> object:
        """``super().__init__`` (and the other allowed special methods) in customer code."""
        if not isinstance(obj, super) or name not in self.dunders:
            deny("private_attribute", f"access to {name!r} is not allowed")
        return getattr(obj, name)

    def annotation(self, value: object) -> object:
        """An annotation in customer code: never a string or a forward reference."""
        if isinstance(value, GuardedType):
            return TYPE_FORM
        return check_annotation(value)

    def builtins(self) -> dict[str, object]:
        """The guard entries of the builtins mapping (names RestrictedPython's code calls)."""
        arithmetic = self.arithmetic
        return {
            "_getattr_": self.getattr,
            "_getitem_": self.getitem,
            "_getiter_": checked_iter,
            "_check_value_": check_value,
            "_check_args_": check_arguments,
            "_check_params_": check_parameters,
            "_write_": self.write,
            "_inplacevar_": arithmetic.inplace,
            "_inplace_attr_": self.inplace_attr,
            "_inplace_item_": self.inplace_item,
            "_apply_": _apply,
            "_annotation_": self.annotation,
            "_super_attr_": self.super_attr,
            "_mul_": arithmetic.mul,
            "_pow_": arithmetic.pow,
            "_lshift_": arithmetic.lshift,
            "_slice_": slice,
        }


def _apply(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


_FORWARDING_ALIAS: type = getattr(typing, "_BaseGenericAlias")  # noqa: B009 - private in typing
"""typing's aliases (``List[int]``, ``Annotated[...]``...): a name they do not have is read from
their origin, which ``copy_with`` lets be any object."""


def reached(obj: object, name: str) -> object:
    """The object a read of ``obj.name`` reaches: a typing alias passes a name it does not
    have on to its origin, and the guards decide on that object, not on the alias (pydantic's
    shared ``FieldInfo.metadata_lookup`` came back writable through
    ``Annotated[int, 1].copy_with((Field(),)).metadata_lookup``)."""
    for _ in range(32):  # aliases of aliases, within reason
        if not isinstance(obj, _FORWARDING_ALIAS) or _has_own(obj, name):
            return obj
        obj = getattr(obj, "__origin__", None)
    return obj


def _has_own(obj: object, name: str) -> bool:
    if name in getattr(obj, "__dict__", ()):
        return True
    return any(name in vars(cls) for cls in type(obj).__mro__)


def _foreign_class(obj: object) -> bool:
    return isinstance(obj, type) and not is_customer_class(obj)


def _library_attribute(obj: object, name: str, value: object) -> bool:
    """Whether ``obj.name`` is ``value`` as a library class stores it (not ``obj``'s own)."""
    classes = obj.__mro__ if isinstance(obj, type) else type(obj).__mro__
    for cls in classes:
        found = cls.__dict__.get(name, _MISSING)
        if found is not _MISSING:
            return found is value and not is_customer_class(cls)
    return False


def _view(value: object) -> object:
    if isinstance(value, dict):
        return ReadOnlyMapping(value)
    if isinstance(value, bytearray):
        return bytes(value)
    items = cast(Iterable[object], value)
    return tuple(items) if isinstance(value, list) else frozenset(items)


def _builds_type(obj: object) -> bool:
    """Whether ``obj[key]`` makes a type (a generic alias) rather than reading an item."""
    if isinstance(obj, type):
        return not isinstance(obj, enum.EnumMeta)
    return type(obj).__module__ == "typing" or isinstance(
        obj, (types.GenericAlias, types.UnionType)
    )
