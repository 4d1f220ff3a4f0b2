"""Keep typing and pydantic from evaluating as code a string that function code supplied.

A library's own annotations may be strings (its modules use ``from __future__ import
annotations``). pydantic evaluates them with the real ``eval``, for a library function used as
a serializer or a computed field (``field_serializer("x")(Field)``), with the namespace of the
model being built as its locals: a class attribute of the function's named like the
annotation (``Any``, ``SecretType``) then stands for the type. If that attribute is a string,
``typing`` takes it for a forward reference and evaluates it too: code of the function's, run
with the real builtins and no guard. So, installed with the schema guard:

- a library function's annotations are evaluated in its own module's namespace only, never
  with locals pydantic gathered from the model;
- a function of the file has no string annotation to evaluate (the compiler refuses them; one
  copied onto it is refused here);
- whatever the route, a name in an annotation that stands for a string while ``typing``
  evaluates a forward reference is refused instead of evaluated in turn;
- and ``typing`` evaluates only type expressions: a forward reference holding a call, an
  operator other than ``|``, a dunder name or a private attribute is refused, whoever made it
  (``Literal[Optional[int] | "..."]`` made one of the function's string).
"""

from __future__ import annotations

import ast
import functools
import threading
import typing
from collections.abc import Callable
from typing import Any

from pydantic._internal import _decorators, _typing_extra

from sandbox.language._errors import deny, made_by_function

RULE = "string_annotation"
_MARK = "__corral_forward_ref_guard__"
_state = threading.local()


def _depth() -> int:
    return int(getattr(_state, "depth", 0))


_TYPE_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Tuple,
    ast.List,
    ast.Constant,
    ast.BinOp,
    ast.BitOr,
)
"""What a type expression is made of: names, public attributes, subscripts, tuples, lists,
constants and ``|``; no call, no lambda, no comprehension, no other operator."""


@functools.lru_cache(maxsize=4096)
def is_type_expression(text: str) -> bool:
    """Whether ``text`` is only a type expression: names and public attributes (no ``__``
    dunder name, no ``_`` attribute), subscripts, tuples, lists, constants and ``|``."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _TYPE_NODES):
            return False
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.BitOr):
            return False
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            return False
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return False
    return True


def _guard_evaluate(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def evaluate(self: Any, *args: Any, **kwargs: Any) -> Any:
        text = getattr(self, "__forward_arg__", None)
        if not isinstance(text, str) or not is_type_expression(text):
            deny(
                RULE,
                "a forward reference that is not a type expression (a call, an operator, a "
                "private name) would be evaluated as code",
            )
        _state.depth = _depth() + 1
        try:
            return original(self, *args, **kwargs)
        finally:
            _state.depth = _depth() - 1

    setattr(evaluate, _MARK, True)
    return evaluate


def _guard_type_check(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def type_check(arg: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(arg, str) and _depth():
            deny(
                RULE,
                "a name in a type annotation stands for a string here, which would be "
                "evaluated as code: a type is a class or a typing form, never a string",
            )
        return original(arg, *args, **kwargs)

    setattr(type_check, _MARK, True)
    return type_check


def _guard_hints(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def hints(function: Any, **kwargs: Any) -> Any:
        target = function.func if isinstance(function, functools.partial) else function
        if made_by_function(target):
            annotations = getattr(target, "__annotations__", None) or {}
            if any(isinstance(value, str) for value in dict(annotations).values()):
                deny(RULE, "string annotations are not allowed: write the type itself")
        else:  # a library's: in its own module, with nothing of the model's
            kwargs["globalns"] = kwargs["localns"] = None
        return original(function, **kwargs)

    setattr(hints, _MARK, True)
    return hints


def install_forward_ref_guard() -> None:
    """Wrap typing's forward-reference evaluation and pydantic's reading of a function's
    annotations, once per process (later calls do nothing)."""
    if getattr(typing.ForwardRef._evaluate, _MARK, False):
        return
    typing.ForwardRef._evaluate = _guard_evaluate(typing.ForwardRef._evaluate)  # type: ignore[method-assign]
    typing._type_check = _guard_type_check(typing._type_check)  # type: ignore[attr-defined]
    guarded = _guard_hints(_typing_extra.get_function_type_hints)
    _typing_extra.get_function_type_hints = guarded
    _decorators.get_function_type_hints = guarded  # type: ignore[attr-defined] # bound at import
