"""The last look at every pydantic-core schema before pydantic-core compiles it.

``_schema_guard`` keeps raw schemas out of pydantic; this check is the second line, on what
pydantic built: no schema reads attributes by name (``from_attributes``), a ``model`` or
``dataclass`` schema names a real pydantic model or dataclass, a computed field names a
computed field of its class, and a schema is neither too deep nor too large for pydantic-core
to compile (a deep one would overflow its stack and kill the worker).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pydantic

from sandbox.language._errors import deny, exhausted

RULE = "pydantic_raw_schema"
MAX_DEPTH = 400
"""Most nested dicts and lists a schema may have."""
MAX_NODES = 200_000
"""Most dicts and lists a schema may hold."""

_PLAIN = frozenset({dict, list, tuple})
"""The only containers a schema may hold (exactly these types)."""
_PLAIN_KEYS = frozenset({str, int, bool, bytes, type(None)})
_CLASS_SCHEMAS = frozenset({"model", "dataclass"})
_DATA_KEYS = frozenset({"default", "expected", "members", "metadata", "custom_error_context"})
"""Keys whose values are data (defaults, literal values, JSON schema extras), not schemas."""


def check_core_schema(schema: object) -> None:
    """Refuse a schema that pydantic-core would use to read what it should not, or too big.

    Raises:
        SandboxViolation: ``pydantic_raw_schema`` for ``from_attributes``, a foreign ``cls`` or
            a computed field that is not one of its class.
        ResourceLimitExceeded: when the schema is deeper than ``MAX_DEPTH`` or holds more than
            ``MAX_NODES`` dicts and lists.
    """
    pending: list[tuple[object, int, type | None]] = [(schema, 0, None)]
    seen: set[int] = set()
    while pending:
        node, depth, owner = pending.pop()
        if not isinstance(node, (dict, list, tuple)) or id(node) in seen:
            continue
        if type(node) not in _PLAIN:
            # A subclass may show this check one thing through its methods and pydantic-core,
            # which reads the C structure, another (a ``get`` that hides ``from_attributes``).
            deny(
                RULE, f"a pydantic schema may hold only plain dicts and lists, not a {_kind(node)}"
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            exhausted(f"a pydantic schema is nested more than {MAX_DEPTH} levels deep")
        if len(seen) > MAX_NODES:
            exhausted(f"a pydantic schema holds more than {MAX_NODES} parts")
        if isinstance(node, dict):
            if not all(_plain_key(key) for key in dict.keys(node)):
                deny(RULE, "a pydantic schema's keys are plain strings (or a union's tag values)")
            owner = _check_node(node, owner)
            children: Any = [value for key, value in dict.items(node) if key not in _DATA_KEYS]
        else:
            children = node
        pending.extend((child, depth + 1, owner) for child in children)


def _plain_key(key: object) -> bool:
    """A key as pydantic writes them: a plain string, or a tagged union's tag value (a number,
    bytes, None or an enum member); never a string subclass, whose hash may not be its text's."""
    return type(key) in _PLAIN_KEYS or isinstance(key, enum.Enum)


def _kind(node: object) -> str:
    return f"{type(node).__qualname__!r} object"


def _check_node(node: dict[Any, Any], owner: type | None) -> type | None:
    # A schema or a config has ``from_attributes: True``; a field named ``from_attributes`` maps
    # to its field schema, and a field named ``type`` makes the ``type`` of a fields dict a dict.
    kind = node.get("type")
    if node.get("from_attributes") is True and not _public_tag_lookup(kind, node):
        deny(RULE, "a pydantic schema may not read attributes by name (from_attributes)")
    if not isinstance(kind, str):
        return owner
    if kind in _CLASS_SCHEMAS:
        cls = node.get("cls")
        if not _is_schema_class(kind, cls):
            deny(RULE, f"a pydantic {kind} schema names something that is not a {kind} class")
        return cls
    if kind == "computed-field":
        _check_computed_field(node.get("property_name"), owner)
    return owner


def _public_tag_lookup(kind: object, node: dict[Any, Any]) -> bool:
    """A discriminated union reads its tag from an object input by attribute: allowed when every
    name it may read is a public identifier (pydantic builds these for ``Field(discriminator=...)``;
    the union's choices still validate the input as models, which take no attributes)."""
    if kind != "tagged-union":
        return False
    discriminator = node.get("discriminator")
    paths = [[discriminator]] if isinstance(discriminator, str) else discriminator
    if not isinstance(paths, list) or not paths:
        return False
    return all(
        isinstance(path, list) and path and all(_public(step) or type(step) is int for step in path)
        for path in paths
    )


def _public(name: object) -> bool:
    return isinstance(name, str) and name.isidentifier() and not name.startswith("_")


def _is_schema_class(kind: object, cls: object) -> bool:
    if not isinstance(cls, type):
        return False
    if kind == "model":
        return issubclass(cls, pydantic.BaseModel) and cls is not pydantic.BaseModel
    return dataclasses.is_dataclass(cls)


def _check_computed_field(name: object, owner: type | None) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        deny(RULE, f"a computed field may not be named {name!r}")
    decorators = getattr(owner, "__pydantic_decorators__", None)
    computed = getattr(decorators, "computed_fields", None)
    if owner is None or computed is None or name not in computed:
        deny(RULE, f"{name!r} is not a computed field of its class")
