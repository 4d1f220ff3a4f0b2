"""Raw pydantic-core schemas that the source shows: refused at compile time.

A dict or set literal written where a type goes (an annotation, a type argument such as
``list[{...}]``, or the type argument of a pydantic helper such as ``conlist({...})``) is a raw
schema, never a type. This check names the file and line; ``_schema_guard`` refuses the cases
that the source does not show (a dict held in a variable) when pydantic builds the schema.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from sandbox.language._errors import Violation

RULE = "pydantic_raw_schema"
_MESSAGE = (
    "a {kind} literal cannot be used as a type: pydantic would take it for a raw "
    "pydantic-core schema, which functions may not write"
)
_RAW = (ast.Dict, ast.Set, ast.DictComp, ast.SetComp)
_TYPE_KEYWORDS = frozenset({"return_type", "json_schema_input_type", "item_type"})
_PYDANTIC_HELPERS = frozenset(
    {
        "AfterValidator",
        "BeforeValidator",
        "PlainSerializer",
        "PlainValidator",
        "TypeAdapter",
        "WrapSerializer",
        "WrapValidator",
        "computed_field",
        "conlist",
        "field_serializer",
        "field_validator",
        "model_serializer",
    }
)
"""pydantic callables that take a type (as ``_TYPE_POSITIONS`` or one of ``_TYPE_KEYWORDS``)."""
_TYPE_POSITIONS = {"conlist": 0, "TypeAdapter": 0, "BeforeValidator": 1, "PlainValidator": 1}
_METADATA_FORMS = frozenset({"Annotated"})
_VALUE_FORMS = frozenset({"Literal"})


def schema_source_violations(name: str, tree: ast.AST) -> list[Violation]:
    """The raw-schema literals in type positions of a parsed file, in source order."""
    found = {id(node): node for node in _raw_type_nodes(tree)}
    return [
        Violation(name, node.lineno, node.col_offset + 1, RULE, _MESSAGE.format(kind=_kind(node)))
        for node in sorted(found.values(), key=lambda node: (node.lineno, node.col_offset))
    ]


def _kind(node: ast.expr) -> str:
    return "dict" if isinstance(node, (ast.Dict, ast.DictComp)) else "set"


def _raw_type_nodes(tree: ast.AST) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.AnnAssign, ast.arg)) and node.annotation is not None:
            yield from _in_type(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            yield from _in_type(node.returns)
        elif isinstance(node, ast.Subscript):
            yield from _in_subscript(node)
        elif isinstance(node, ast.Call):
            yield from _in_call(node)


def _in_type(node: ast.expr) -> Iterator[ast.expr]:
    """Raw literals in an expression that stands for a type."""
    if isinstance(node, _RAW):
        yield node
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        yield from _in_type(node.left)
        yield from _in_type(node.right)
    elif isinstance(node, ast.Subscript):
        yield from _in_subscript(node)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from _in_type(element)


def _in_subscript(node: ast.Subscript) -> Iterator[ast.expr]:
    form = _name(node.value)
    if form in _VALUE_FORMS:
        return
    elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if form in _METADATA_FORMS:
        elements = elements[:1]
    for element in elements:
        yield from _in_type(element)


def _in_call(node: ast.Call) -> Iterator[ast.expr]:
    name = _name(node.func)
    if name not in _PYDANTIC_HELPERS:
        return
    position = _TYPE_POSITIONS.get(name)
    if position is not None and len(node.args) > position:
        yield from _in_type(node.args[position])
    for keyword in node.keywords:
        if keyword.arg in _TYPE_KEYWORDS:
            yield from _in_type(keyword.value)


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""
