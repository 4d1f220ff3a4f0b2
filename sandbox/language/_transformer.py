"""Our RestrictedPython policy: what the compiler accepts and how it rewrites customer code.

On top of RestrictedPython's transformer:

* violations are collected with file, line, column and a stable rule name;
* annotated assignments work (``title: str = ""``), annotations are wrapped in a run-time
  check, and string annotations are refused at compile time;
* ``x.attr op= v`` and ``x[k] op= v`` work through guards;
* ``*``, ``**`` and ``<<`` go through size guards;
* ``super().__init__(...)`` (and the policy's other special methods) may be called;
* class bodies may define the policy's special methods; ``metaclass=`` is refused;
* ``from __future__`` imports, ``async``, ``match``, ``nonlocal`` and ``try/except*`` are refused
  with a message that says what is not allowed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from RestrictedPython.transformer import (
    FORBIDDEN_FUNC_NAMES,
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

from sandbox.language._errors import Violation
from sandbox.language._policy import Policy

_ARITHMETIC_GUARDS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
}

_UNSUPPORTED = {
    "AsyncFunctionDef": "async functions are not allowed: function code runs synchronously, "
    "call the nango methods directly",
    "Await": "await is not allowed: function code runs synchronously",
    "AsyncFor": "async for is not allowed: function code runs synchronously",
    "AsyncWith": "async with is not allowed: function code runs synchronously",
    "Match": "match statements are not allowed in functions: use if/elif",
    "Nonlocal": "nonlocal is not allowed in functions",
    "TryStar": "try/except* (exception groups) is not allowed in functions",
}

_RULES_BY_MESSAGE = (
    ("Exec calls", "forbidden_call"),
    ("Eval calls", "forbidden_call"),
    ('"*" imports', "star_import"),
    ("statements are not allowed", "unsupported_syntax"),
    ("__roles__", "private_name"),
)


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(node, like)  # type: ignore[arg-type]
    return node


def _subscript_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def annotation_strings(node: ast.expr) -> Iterator[ast.Constant]:
    """String constants in an annotation that would become types (not ``Literal`` values)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        yield node
    elif isinstance(node, ast.Subscript):
        kind = _subscript_name(node.value)
        if kind == "Literal":
            return
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for part in parts[:1] if kind == "Annotated" else parts:
            yield from annotation_strings(part)
        yield from annotation_strings(node.value)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from annotation_strings(element)
    elif isinstance(node, ast.BinOp):
        yield from annotation_strings(node.left)
        yield from annotation_strings(node.right)


class SandboxTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer with corral's policy (see the module docstring)."""

    def __init__(self, policy: Policy, filename: str) -> None:
        super().__init__()
        self.policy = policy
        self.filename = filename
        self.violations: list[Violation] = []
        self._scopes: list[str] = ["module"]

    # Reporting

    def deny(self, node: ast.AST, rule: str, message: str) -> None:
        """Record a violation at ``node``."""
        line = getattr(node, "lineno", 0) or 0
        column = (getattr(node, "col_offset", -1) or 0) + 1 if line else 0
        self.violations.append(Violation(self.filename, line, column, rule, message))
        self.errors.append(f"Line {line}: {message}")

    def error(self, node: ast.AST, info: str) -> None:
        """Record a violation reported by RestrictedPython's own checks."""
        rule = next((rule for text, rule in _RULES_BY_MESSAGE if text in info), "restricted")
        self.deny(node, rule, info.rstrip("."))

    def not_allowed(self, node: ast.AST) -> None:
        """Refuse a node kind, with a message that says what is not allowed."""
        kind = type(node).__name__
        message = _UNSUPPORTED.get(kind, f"{kind} statements are not allowed in functions")
        self.deny(node, "unsupported_syntax", message)

    visit_AsyncFunctionDef = not_allowed  # noqa: N815 - ast dispatch name
    visit_Await = not_allowed  # noqa: N815 - ast dispatch name
    visit_AsyncFor = not_allowed  # noqa: N815 - ast dispatch name
    visit_AsyncWith = not_allowed  # noqa: N815 - ast dispatch name
    visit_Nonlocal = not_allowed  # noqa: N815 - ast dispatch name
    visit_TryStar = not_allowed  # noqa: N815 - ast dispatch name
    visit_Match = not_allowed  # noqa: N815 - ast dispatch name

    # Names

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        """Refuse names beginning with ``_`` (except allowed special methods) and reserved ones."""
        if name is None:
            return
        if name.startswith("_") and name != "_":
            special = allow_magic_methods and self._scopes[-1] == "class"
            if special and name in self.policy.dunder_methods:
                return
            self.deny(
                node,
                "private_name",
                f"the name {name!r} is not allowed: names beginning with '_' are reserved",
            )
        elif name in FORBIDDEN_FUNC_NAMES:
            self.deny(node, "reserved_name", f"{name!r} is a reserved name in functions")

    def visit_Global(self, node: ast.Global) -> Any:  # noqa: N802 - ast dispatch name
        """Allow ``global`` for names the function may bind."""
        for name in node.names:
            self.check_name(node, name)
        return node

    # Imports

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:  # noqa: N802 - ast dispatch name
        """Refuse ``from __future__``; other imports are checked when they run."""
        if node.module == "__future__" and not node.level:
            self.deny(
                node,
                "future_import",
                "from __future__ imports are not allowed in functions "
                "(annotations are evaluated as written)",
            )
            return node
        return super().visit_ImportFrom(node)

    # Definitions

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:  # noqa: N802 - ast dispatch name
        """Check names and annotations, then wrap annotations in the run-time check."""
        self.check_name(node, node.name, allow_magic_methods=True)
        self.check_function_argument_names(node)
        self._check_arguments_annotations(node)
        self._scopes.append("function")
        try:
            with self.print_info.new_print_scope():
                node = self.node_contents_visit(node)
                self.inject_print_collector(node)
        finally:
            self._scopes.pop()
        self._wrap_arguments_annotations(node)
        return node

    def _check_arguments_annotations(self, node: ast.FunctionDef) -> None:
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
        for annotation in [arg.annotation for arg in every] + [node.returns]:
            if annotation is not None:
                self._check_annotation(annotation)

    def _wrap_arguments_annotations(self, node: ast.FunctionDef) -> None:
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
        for arg in every:
            if arg.annotation is not None:
                arg.annotation = _call("_annotation_", [arg.annotation], arg.annotation)
        if node.returns is not None:
            node.returns = _call("_annotation_", [node.returns], node.returns)

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:  # noqa: N802 - ast dispatch name
        """Allow classes; refuse ``metaclass=``, ``**`` and keywords beginning with ``_``."""
        self.check_name(node, node.name)
        for keyword in node.keywords:
            if keyword.arg in (None, "metaclass"):
                message = "metaclass= and ** are not allowed in class statements"
                self.deny(node, "metaclass", message)
            elif keyword.arg.startswith("_"):
                # Private parameters of library metaclasses (pydantic's generic metadata...).
                message = (
                    f"the class keyword {keyword.arg!r} is not allowed: "
                    "names beginning with '_' are reserved"
                )
                self.deny(keyword, "private_name", message)
        self._scopes.append("class")
        try:
            return self.node_contents_visit(node)
        finally:
            self._scopes.pop()

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:  # noqa: N802 - ast dispatch name
        """Allow ``name: T = value``; the annotation is checked when it is evaluated."""
        self._check_annotation(node.annotation)
        node = self.node_contents_visit(node)
        node.annotation = _call("_annotation_", [node.annotation], node.annotation)
        return node

    def _check_annotation(self, annotation: ast.expr) -> None:
        for constant in annotation_strings(annotation):
            self.deny(
                constant,
                "string_annotation",
                "string annotations are not allowed in functions: write the type itself, "
                "not its name in quotes",
            )

    # Expressions

    def visit_Attribute(self, node: ast.Attribute) -> Any:  # noqa: N802 - ast dispatch name
        """Guard attribute access; allow ``super().__init__`` and the like."""
        if self._is_super_special(node):
            value = self.visit(node.value)
            return _call("_super_attr_", [value, ast.Constant(node.attr)], node)
        if not self._check_attribute_name(node, node.attr):
            return self.node_contents_visit(node)
        return super().visit_Attribute(node)

    def _check_attribute_name(self, node: ast.AST, attr: str) -> bool:
        if attr.startswith("_") and attr != "_":
            self.deny(
                node,
                "private_name",
                f"access to {attr!r} is not allowed: names beginning with '_' are private",
            )
            return False
        if attr in INSPECT_ATTRIBUTES or attr in self.policy.blocked_attributes:
            self.deny(
                node,
                "restricted_attribute",
                f"access to {attr!r} is not allowed: it exposes interpreter internals",
            )
            return False
        return True

    def _is_super_special(self, node: ast.Attribute) -> bool:
        value = node.value
        return (
            isinstance(node.ctx, ast.Load)
            and node.attr in self.policy.dunder_methods
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "super"
        )

    def visit_BinOp(self, node: ast.BinOp) -> Any:  # noqa: N802 - ast dispatch name
        """Route ``*``, ``**`` and ``<<`` through the size guards."""
        node = self.node_contents_visit(node)
        guard = _ARITHMETIC_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:  # noqa: N802 - ast dispatch name
        """``x op= v`` for names, attributes and items, through the guards."""
        target = node.target
        if isinstance(target, ast.Name):
            return super().visit_AugAssign(node)
        op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        value = self.visit(node.value)
        if isinstance(target, ast.Attribute):
            self._check_attribute_name(target, target.attr)
            obj = self.visit(target.value)
            call = _call("_inplace_attr_", [obj, ast.Constant(target.attr), op, value], node)
        else:
            assert isinstance(target, ast.Subscript)  # noqa: S101 - the grammar allows nothing else
            obj = self.visit(target.value)
            key = _slice_expression(self.visit(target.slice))
            call = _call("_inplace_item_", [obj, key, op, value], node)
        statement = ast.Expr(call)
        copy_locations(statement, node)
        return statement


def _slice_expression(node: ast.expr) -> ast.expr:
    """``a:b`` outside brackets is not an expression: turn it into ``_slice_(a, b, None)``."""
    if isinstance(node, ast.Slice):
        parts = [part or ast.Constant(None) for part in (node.lower, node.upper, node.step)]
        return _call("_slice_", parts, node)
    if isinstance(node, ast.Tuple):
        node.elts = [_slice_expression(element) for element in node.elts]
    return node
