"""Imports a function file may not make, found without running it (for ``corral compile``).

The sandbox refuses a disallowed import when the import statement runs; ``corral compile``
reports it before that, from the same policy data: the allowed modules and the names each
exposes, the SDK module and its names, and the sibling files of the integration folder.
Imports inside functions are checked too. Names imported from a sibling file are not (that
needs the file to run).
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping

from sandbox import DEFAULT_POLICY, Policy, Violation

RULE = "import"
"""The rule name, the same as the sandbox's at run time."""


def import_violations(
    files: Mapping[str, str], sdk_names: Collection[str], policy: Policy = DEFAULT_POLICY
) -> list[Violation]:
    """Every disallowed import of every file that parses (syntax errors are reported elsewhere).

    Args:
        files: file name -> source, for one integration folder.
        sdk_names: the names the SDK module offers.
        policy: the sandbox policy.
    """
    siblings = {name.removesuffix(".py") for name in files if name.endswith(".py")}
    found: list[Violation] = []
    for name in sorted(files):
        try:
            tree = ast.parse(files[name], name)
        except (SyntaxError, ValueError, RecursionError):
            continue
        checker = _Checker(policy, frozenset(sdk_names), siblings)
        found += [Violation(name, line, col, RULE, text) for line, col, text in checker.run(tree)]
    return found


class _Checker:
    def __init__(self, policy: Policy, sdk_names: frozenset[str], siblings: set[str]) -> None:
        self._policy = policy
        self._sdk_names = sdk_names
        self._siblings = siblings

    def run(self, tree: ast.AST) -> Iterator[tuple[int, int, str]]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield from self._module(node, alias.name)
            elif isinstance(node, ast.ImportFrom) and node.level:
                yield from self._relative(node)
            elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
                yield from self._from(node, node.module or "")  # the compiler refuses __future__

    def _allowed(self) -> str:
        return ", ".join(self._policy.module_names) + ", and sibling files (from .name import ...)"

    def _module(self, node: ast.stmt, module: str) -> Iterator[tuple[int, int, str]]:
        policy = self._policy
        if module not in {*policy.modules, *policy.packages, policy.sdk_module}:
            text = f"import of {module!r} is not allowed in functions; allowed: "
            yield node.lineno, node.col_offset + 1, text + self._allowed()

    def _offered(self, module: str) -> frozenset[str]:
        if module == self._policy.sdk_module:
            return self._sdk_names
        if module in self._policy.modules:
            return self._policy.modules[module]
        prefix = module + "."
        children = (m[len(prefix) :] for m in self._policy.modules if m.startswith(prefix))
        return frozenset(c for c in children if "." not in c)

    def _from(self, node: ast.ImportFrom, module: str) -> Iterator[tuple[int, int, str]]:
        refused = list(self._module(node, module))
        if refused:
            yield from refused
            return
        offered = self._offered(module)
        for alias in node.names:
            if alias.name not in offered:
                text = (
                    f"{alias.name!r} cannot be imported from {module!r} in functions; "
                    f"{module!r} offers: {', '.join(sorted(offered)) or 'nothing'}"
                )
                yield node.lineno, node.col_offset + 1, text

    def _relative(self, node: ast.ImportFrom) -> Iterator[tuple[int, int, str]]:
        place = (node.lineno, node.col_offset + 1)
        if node.level != 1 or "." in (node.module or ""):
            yield *place, "only sibling files can be imported relatively (from .name import ...)"
            return
        wanted = [node.module] if node.module else [alias.name for alias in node.names]
        for name in wanted:
            if name not in self._siblings:
                known = ", ".join(sorted(self._siblings)) or "none"
                yield *place, f"there is no sibling file {name + '.py'!r}; siblings: {known}"
