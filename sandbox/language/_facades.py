"""Module facades: what customer code gets instead of a module object.

A real module hands out ``sys``, ``os`` or ``builtins`` through public names (``json.codecs``,
``enum.bltns``, ``uuid.os``...). Customer code never receives one: it gets a frozen facade that
exposes only the policy's names for that module, built fresh for every load. Mutable module
constants (``hashlib.algorithms_available``) are handed out as immutable copies.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType, ModuleType
from typing import Any, NoReturn

from sandbox.language._allowlist import register_nameable
from sandbox.language._errors import deny
from sandbox.language._policy import Policy
from sandbox.language._pydantic import pydantic_substitutes
from sandbox.language._stdlib import STDLIB_SUBSTITUTES
from sandbox.language._views import ReadOnlyMapping


class ModuleFacade:
    """A read-only stand-in for a module: only allow-listed, public names.

    Attributes are looked up in ``members`` (a live mapping for sibling files, whose names
    beginning with ``_`` stay hidden). Reading a name the real module has but the policy does not
    allow is a violation; any write is a violation.
    """

    __slots__ = ("_facade_hidden", "_facade_members", "_facade_name")

    _facade_name: str
    _facade_members: Mapping[str, object]
    _facade_hidden: frozenset[str]

    def __init__(
        self, name: str, members: Mapping[str, object], hidden: frozenset[str] = frozenset()
    ) -> None:
        object.__setattr__(self, "_facade_name", name)
        object.__setattr__(self, "_facade_members", members)
        object.__setattr__(self, "_facade_hidden", hidden)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("module facades cannot be subclassed")

    def __getattr__(self, name: str) -> object:
        if not name.startswith("_"):
            try:
                return self._facade_members[name]
            except KeyError:
                pass
        if name in self._facade_hidden:
            deny(
                "module_attribute",
                f"'{self._facade_name}.{name}' is not available in functions; "
                f"'{self._facade_name}' offers: {', '.join(facade_names(self)) or 'nothing'}",
            )
        raise AttributeError(f"module {self._facade_name!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        deny("write", f"module {self._facade_name!r} cannot be modified")

    def __delattr__(self, name: str) -> NoReturn:
        deny("write", f"module {self._facade_name!r} cannot be modified")

    def __repr__(self) -> str:
        return f"<module {self._facade_name!r} (sandboxed)>"

    def __dir__(self) -> list[str]:
        return facade_names(self)

    def __copy__(self) -> ModuleFacade:
        return self

    def __deepcopy__(self, memo: object) -> ModuleFacade:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("module facades cannot be pickled")


def facade_names(facade: ModuleFacade) -> list[str]:
    """The public names a facade offers, sorted."""
    members = object.__getattribute__(facade, "_facade_members")
    return sorted(name for name in members if not name.startswith("_"))


def facade_name(facade: ModuleFacade) -> str:
    """The module name a facade stands for."""
    return str(object.__getattribute__(facade, "_facade_name"))


def facade_has(facade: ModuleFacade, name: str) -> bool:
    """Whether ``name`` can be read from the facade."""
    members = object.__getattribute__(facade, "_facade_members")
    return not name.startswith("_") and name in members


def _freeze(value: object) -> object:
    if type(value) is set:
        return frozenset(value)
    if type(value) is list:
        return tuple(value)
    if type(value) is dict:
        return ReadOnlyMapping(dict(value))
    return value


def _substitute(policy: Policy, module: str, name: str) -> object | None:
    if module == "pydantic":
        return pydantic_substitutes(policy).get(name)
    return STDLIB_SUBSTITUTES.get((module, name))


@lru_cache(maxsize=256)
def module_members(policy: Policy, module_name: str) -> Mapping[str, object]:
    """The members of ``module_name``'s facade under ``policy`` (shared, read-only)."""
    module = importlib.import_module(module_name)
    members: dict[str, object] = {}
    for name in sorted(policy.modules[module_name]):
        value = _substitute(policy, module_name, name)
        if value is None:
            value = _module_value(module, name)
        if value is not None:
            members[name] = _freeze(value)
    register_nameable(members.values())
    return MappingProxyType(members)


def _module_value(module: ModuleType, name: str) -> object | None:
    if name not in vars(module) and name not in getattr(module, "__all__", ()):
        return None
    try:
        value: object = getattr(module, name)
    except (AttributeError, ImportError):  # an optional extra that is not installed
        return None
    return value


@lru_cache(maxsize=256)
def hidden_names(policy: Policy, module_name: str) -> frozenset[str]:
    """Public names of the real module that its facade refuses (reported as violations)."""
    module = importlib.import_module(module_name)
    names = {name for name in vars(module) if not name.startswith("_")}
    names.update(getattr(module, "__all__", ()))
    return frozenset(names - set(module_members(policy, module_name)))


def module_facade(policy: Policy, module_name: str) -> ModuleFacade:
    """A fresh facade for an allowed module."""
    members = module_members(policy, module_name)
    return ModuleFacade(module_name, members, hidden_names(policy, module_name))


@lru_cache(maxsize=16)
def exposed_classes(policy: Policy) -> frozenset[type]:
    """Classes found in the facades of the allowed modules."""
    found: set[type] = set()
    for module_name in policy.modules:
        members = module_members(policy, module_name).values()
        found.update(value for value in members if isinstance(value, type))
    return frozenset(found)


def public_mapping(mapping: Mapping[str, object]) -> Mapping[str, object]:
    """A read-only copy of the public (not ``_``-prefixed) entries of ``mapping``."""
    return MappingProxyType(
        {key: value for key, value in mapping.items() if not key.startswith("_")}
    )
