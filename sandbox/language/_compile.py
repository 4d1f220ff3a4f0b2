"""Compiling function files under the policy, with a content-addressed cache.

Code is compiled with ``dont_inherit=True`` and no flags: no ``__future__`` feature of ours (this
module uses ``annotations``) leaks into customer code, so customer annotations stay objects.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType, MappingProxyType
from typing import NoReturn, cast

from corral.errors import CompileError
from sandbox.language._errors import Violation
from sandbox.language._execute import Program, sibling_files
from sandbox.language._policy import DEFAULT_POLICY, Policy
from sandbox.language._schema_source import schema_source_violations
from sandbox.language._transformer import SandboxTransformer
from sandbox.language._value_routes import route_values

CACHE_SIZE = 256
"""Compiled files kept per process (least recently used ones are dropped)."""


@dataclass(frozen=True)
class CompiledFile:
    """The outcome of compiling one file: code, or the violations that prevented it."""

    code: CodeType | None
    violations: tuple[Violation, ...]
    imports: tuple[str, ...]
    """Sibling module names the file imports (``from .name import ...``)."""


_cache: OrderedDict[str, CompiledFile] = OrderedDict()
_lock = threading.Lock()


def _cache_key(name: str, source: str, policy: Policy) -> str:
    digest = hashlib.sha256()
    for part in (policy.fingerprint, name, source):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def compile_file(name: str, source: str, policy: Policy = DEFAULT_POLICY) -> CompiledFile:
    """Compile one file, from the cache when the same content was compiled before."""
    key = _cache_key(name, source, policy)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    result = _compile(name, source, policy)
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def cache_info() -> int:
    """How many compiled files the cache holds."""
    return len(_cache)


def _violation(name: str, line: int, column: int, rule: str, message: str) -> CompiledFile:
    return CompiledFile(None, (Violation(name, line, column, rule, message),), ())


def _parse(name: str, source: str, policy: Policy) -> ast.Module | CompiledFile:
    if len(source) > policy.max_source_chars:
        return _violation(name, 0, 0, "too_large", f"file is larger than {policy.max_source_chars}")
    try:
        return cast(ast.Module, compile(source, name, "exec", ast.PyCF_ONLY_AST, dont_inherit=True))
    except SyntaxError as error:
        return _syntax_violation(name, error)
    except (ValueError, RecursionError, MemoryError) as error:
        return _violation(name, 0, 0, "syntax", f"cannot parse the file: {error}")


def _compile(name: str, source: str, policy: Policy) -> CompiledFile:
    parsed = _parse(name, source, policy)
    if isinstance(parsed, CompiledFile):
        return parsed
    imports = sibling_imports(parsed)
    transformer = SandboxTransformer(policy, name)
    try:
        raw_schemas = schema_source_violations(name, parsed)
        tree = transformer.visit(parsed)
    except RecursionError:
        return _violation(name, 0, 0, "too_deep", "the code is nested too deeply")
    if transformer.violations or raw_schemas:
        found = [*transformer.violations, *raw_schemas]
        ordered = sorted(found, key=lambda v: (v.line, v.column))
        return CompiledFile(None, tuple(ordered), imports)
    try:
        tree = route_values(tree)
    except RecursionError:
        return _violation(name, 0, 0, "too_deep", "the code is nested too deeply")
    ast.fix_missing_locations(tree)
    try:
        code = compile(tree, name, "exec", dont_inherit=True)
    except SyntaxError as error:  # e.g. 'return' outside function, found by the compiler
        return _syntax_violation(name, error)
    except RecursionError:
        return _violation(name, 0, 0, "too_deep", "the code is nested too deeply")
    return CompiledFile(code, (), imports)


def _syntax_violation(name: str, error: SyntaxError) -> CompiledFile:
    line = error.lineno or 0
    return _violation(name, line, error.offset or 0, "syntax", f"invalid syntax: {error.msg}")


def sibling_imports(tree: ast.AST) -> tuple[str, ...]:
    """Names of the sibling modules a file imports relatively (``from .x``, ``from . import x``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module)
            else:
                found.update(alias.name for alias in node.names)
    return tuple(sorted(found))


def check_sources(files: Mapping[str, str], policy: Policy = DEFAULT_POLICY) -> list[Violation]:
    """Every violation in every Python file of ``files``, sorted by file, line and column.

    Args:
        files: file name → source, for one integration folder; only ``*.py`` files are checked.
        policy: the sandbox policy.
    """
    found: list[Violation] = []
    for name in sorted(files):
        if name.endswith(".py"):
            found.extend(compile_file(name, files[name], policy).violations)
    return found


def compile_program(
    files: Mapping[str, str], entry: str, policy: Policy = DEFAULT_POLICY
) -> Program:
    """Compile ``entry`` and every sibling file it imports, directly or not.

    Args:
        files: file name → source, for one integration folder.
        entry: the function's file, one of ``files``.
        policy: the sandbox policy.

    Returns:
        The program, ready to ``load``.

    Raises:
        CompileError: with ``details["errors"]`` listing every violation of the entry file and of
            the sibling files it imports (``{file, line, column, rule, message}``).
    """
    if entry not in files:
        _raise([Violation(entry, 0, 0, "entry", f"entry file {entry!r} is not among the files")])
    siblings = sibling_files(files)
    codes: dict[str, CodeType] = {}
    errors: list[Violation] = []
    queue, seen = [entry], {entry}
    while queue:
        name = queue.pop(0)
        result = compile_file(name, files[name], policy)
        errors.extend(result.violations)
        if result.code is not None:
            codes[name] = result.code
        for module in result.imports:
            sibling = siblings.get(module)
            if sibling is not None and sibling not in seen:
                seen.add(sibling)
                queue.append(sibling)
    if errors:
        _raise(errors)
    return Program(entry, MappingProxyType(codes), policy, siblings)


def _raise(errors: list[Violation]) -> NoReturn:
    first = errors[0]
    message = f"{first.file}:{first.line}: {first.message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    raise CompileError(message, details={"errors": [error.to_dict() for error in errors]})
