"""The compiler pass that routes values entering function code through ``check_value``.

Run on the tree ``SandboxTransformer`` produced (a separate pass, so the main pass's recursion is
not deepened), it rewrites:

* every call into ``_check_value_(call)``, except the guards' own calls and calls of builtins
  whose result is plain (``_PLAIN_RESULT_BUILTINS``) where the file never binds that name;
* every ``def`` to start with ``a, b = _check_args_(a, b)`` (after its docstring), and every
  ``lambda a, b: body`` into ``lambda a, b: _check_params_(a, b) or body``;
* ``except ... as e`` and ``with ... as x`` to start with ``e = _check_value_(e)``;
* ``yield`` and ``yield from`` expressions into ``_check_value_(...)`` (what ``send`` puts in);
* a decorated ``def`` or ``class`` to be followed by ``name = _check_value_(name)``.

Iteration, unpacking, attribute reads and subscripts already go through ``_getiter_``,
``_getattr_`` and ``_getitem_``, which check what they hand out.
"""

from __future__ import annotations

import ast
from typing import Any

from RestrictedPython.transformer import copy_locations


def _words(text: str) -> list[str]:
    return text.split()


_PLAIN_RESULT_BUILTINS = frozenset(
    _words(
        "all any ascii bin bool bytearray bytes callable chr dict enumerate filter float format "
        "frozenset hash hex int isinstance issubclass len list map oct ord range repr set "
        "sorted str tuple type zip"
    )
)
"""Builtins whose result needs no check: a number, string, fresh container or builtin iterator
(items come out through ``_getiter_`` or ``next``, both checked), or what ``type`` hands out.
Their calls are left unwrapped only where the file never binds the name itself. Not here:
``reversed``, ``abs``, ``round`` and ``divmod``, whose result is whatever the argument's
``__reversed__``, ``__abs__``, ``__round__`` or ``__divmod__`` returns (a library generator,
say), so it is checked like any call's."""

_GUARD_CALLS = frozenset(
    _words(
        "_getattr_ _getitem_ _getiter_ _write_ _inplacevar_ _inplace_attr_ _inplace_item_ "
        "_annotation_ _mul_ _pow_ _lshift_ _slice_ _iter_unpack_sequence_ _unpack_sequence_ "
        "_check_value_ _check_args_ _check_params_ _print_ _super_attr_"
    )
)
"""Calls the compiler generates whose result is already checked (or is the sandbox's own)."""


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(node, like)  # type: ignore[arg-type]
    return node


def _recheck(name: str, like: ast.AST) -> ast.stmt:
    """``name = _check_value_(name)``."""
    value = _call("_check_value_", [ast.Name(name, ast.Load())], like)
    statement = ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)
    copy_locations(statement, like)  # type: ignore[arg-type]
    return statement


def _parameter_names(arguments: ast.arguments) -> list[str]:
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
    return [arg.arg for arg in every]


def bound_names(tree: ast.AST) -> frozenset[str]:
    """Every name a file binds anywhere (assignments, definitions, parameters, imports...)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.alias):
            found.add((node.asname or node.name).partition(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.update(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            found.add(node.name)
    return frozenset(found)


class ValueRoutes(ast.NodeTransformer):
    """The rewriting described in the module docstring, for one file."""

    def __init__(self, tree: ast.AST) -> None:
        self._bound = bound_names(tree)

    def visit_Call(self, node: ast.Call) -> Any:
        """Check what a call returns before function code holds it."""
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in _GUARD_CALLS:
                return node
            if func.id in _PLAIN_RESULT_BUILTINS and func.id not in self._bound:
                return node
        return _call("_check_value_", [node], node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        """Check the parameters on entry; check what the decorators made of the function."""
        self.generic_visit(node)
        names = _parameter_names(node.args)
        if names:
            call = _call("_check_args_", [ast.Name(name, ast.Load()) for name in names], node)
            target = ast.Tuple([ast.Name(name, ast.Store()) for name in names], ast.Store())
            statement = ast.Assign(targets=[target], value=call)
            copy_locations(statement, node)
            copy_locations(target, node)
            body = node.body
            first = body[0] if body else None
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            body.insert(1 if docstring else 0, statement)
        return _decorated(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        """Check what the decorators made of the class."""
        self.generic_visit(node)
        return _decorated(node)

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        """``lambda x: _check_params_(x) or body``."""
        self.generic_visit(node)
        names = _parameter_names(node.args)
        if names:
            check = _call("_check_params_", [ast.Name(name, ast.Load()) for name in names], node)
            node.body = ast.BoolOp(op=ast.Or(), values=[check, node.body])
            copy_locations(node.body, node)
        return node

    def visit_Yield(self, node: ast.Yield) -> Any:
        """Check what ``send`` puts into a generator of function code."""
        self.generic_visit(node)
        return _call("_check_value_", [node], node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        """Check what ``yield from`` returns."""
        self.generic_visit(node)
        return _call("_check_value_", [node], node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        """Check the exception ``except ... as e`` binds."""
        self.generic_visit(node)
        if node.name:
            node.body.insert(0, _recheck(node.name, node))
        return node

    def visit_With(self, node: ast.With) -> Any:
        """Check what ``with ... as x`` binds (tuple targets are unpacked through ``_getiter_``)."""
        self.generic_visit(node)
        for item in node.items:
            if isinstance(item.optional_vars, ast.Name):
                node.body.insert(0, _recheck(item.optional_vars.id, node))
        return node


def _decorated(node: ast.FunctionDef | ast.ClassDef) -> Any:
    if not node.decorator_list:
        return node
    return [node, _recheck(node.name, node)]


def route_values(tree: ast.Module) -> ast.Module:
    """Rewrite ``tree`` (already transformed by ``SandboxTransformer``) as described above."""
    result = ValueRoutes(tree).visit(tree)
    assert isinstance(result, ast.Module)  # noqa: S101 - a module stays a module
    return result
