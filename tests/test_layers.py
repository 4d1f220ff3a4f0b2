"""The packages' layers, enforced on every import statement (function-local ones included).

From the bottom up (docs/runtime.md, "Layers"):

* ``corral`` core: everything in ``corral/`` but ``corral/cli/`` and ``corral/testing/``;
  imports none of the packages above it.
* ``sandbox``: imports only the core. Its two halves, ``sandbox.language`` and ``sandbox.os``,
  never import each other.
* ``runner`` and ``orchestrator``, side by side: each imports the core and ``sandbox``, never
  the other, and never the CLI or ``corral.testing``.
* ``corral.testing`` (what authors import from pytest) and ``corral.cli`` (the command and the
  author tooling, with ``corral.__main__``) on top.

An import that crosses into ``sandbox``, ``runner``, ``orchestrator``, ``corral.testing`` or
``corral.cli`` from outside it goes through the public surface: a module path with no
``_private`` part, and only names in that module's ``__all__``. The core is the shared base of
every package and its private modules (``corral._json``...) are imported directly.

``ALLOWED`` lists the violations that remain, each with the reason; any other one fails, and
so does an entry that no longer occurs.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("corral", "sandbox", "runner", "orchestrator")
_SANDBOX = frozenset({"sandbox", "sandbox.language", "sandbox.os"})

MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "sandbox.language": frozenset({"core"}),
    "sandbox.os": frozenset({"core"}),
    "sandbox": frozenset({"core", "sandbox.language", "sandbox.os"}),
    "runner": frozenset({"core", *_SANDBOX}),
    "orchestrator": frozenset({"core", *_SANDBOX}),
    "testing": frozenset({"core", *_SANDBOX, "runner", "orchestrator"}),
    "cli": frozenset({"core", *_SANDBOX, "runner", "orchestrator", "testing"}),
}
"""The other layers each layer may import (its own one, always)."""

ALLOWED: dict[str, str] = {}
"""Violations that remain, by ``Broken.key``, each with why it is still there."""


@dataclass(frozen=True)
class Import:
    """One imported module, or one name imported from a module, by one of our modules."""

    importer: str
    module: str
    name: str | None = None


@dataclass(frozen=True)
class Broken:
    """An import that breaks the layers.

    Attributes:
        key: ``"importer -> module"``, or ``"importer -> module.name"`` for a name that is not
            in the module's ``__all__`` (how ``ALLOWED`` spells it).
        reason: which rule it breaks.
    """

    key: str
    reason: str


def layer(module: str) -> str | None:
    """The layer of a dotted module name, or None for a module that is not ours."""
    top, _, rest = module.partition(".")
    second = rest.partition(".")[0]
    if top == "corral":
        return {"cli": "cli", "__main__": "cli", "testing": "testing"}.get(second, "core")
    if top == "sandbox" and second in {"language", "os"}:
        return f"sandbox.{second}"
    return top if top in PACKAGES else None


def our_modules() -> Iterator[tuple[str, pathlib.Path]]:
    """Every module of our packages, by dotted name."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _absolute(module: str, path: pathlib.Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: pathlib.Path) -> Iterator[Import]:
    """The imports of our packages a module makes, wherever they are (functions included)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (Import(module, a.name) for a in node.names if layer(a.name) is not None)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node)
            if layer(source) is None:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if _source(submodule).is_file():
                    yield Import(module, submodule)
                else:
                    yield Import(module, source, alias.name)


def _source(module: str) -> pathlib.Path:
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _public_names(module: str) -> frozenset[str]:
    """The names in a module's ``__all__``, read from its source (nothing is imported)."""
    for node in ast.parse(_source(module).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


def violation(found: Import) -> Broken | None:
    """The rule an import breaks, or None when it keeps the layers."""
    importer, imported = layer(found.importer), layer(found.module)
    assert importer is not None, found
    assert imported is not None, found
    by_module = f"{found.importer} -> {found.module}"
    if imported in {importer, "core"}:
        return None
    if imported not in MAY_IMPORT[importer]:
        return Broken(by_module, f"{importer} may not import {imported}")
    if any(part.startswith("_") for part in found.module.split(".")[1:]):
        return Broken(by_module, f"{found.module} is private to {imported}")
    if found.name is not None and found.name not in _public_names(found.module):
        reason = f"{found.name} is not in {found.module}.__all__"
        return Broken(f"{by_module}.{found.name}", reason)
    return None


def all_violations() -> dict[str, str]:
    """Every import of our modules that breaks the layers: the reason, by ``Broken.key``."""
    found: dict[str, str] = {}
    for module, path in our_modules():
        for imported in imports_of(module, path):
            broken = violation(imported)
            if broken is not None:
                found[broken.key] = broken.reason
    return found


def test_every_module_has_a_layer() -> None:
    modules = dict(our_modules())
    assert len(modules) > 120
    assert {layer(name) for name in modules} == set(MAY_IMPORT)


def test_no_import_breaks_the_layers() -> None:
    new = {key: reason for key, reason in all_violations().items() if key not in ALLOWED}
    assert new == {}


def test_the_allow_list_has_no_stale_entry() -> None:
    stale = set(ALLOWED) - set(all_violations())
    assert stale == set()


@pytest.mark.parametrize(
    ("importer", "module", "name", "reason"),
    [
        ("corral._json", "runner", "Nango", "core may not import runner"),
        ("sandbox.os._seccomp", "sandbox.language._errors", "deny", "sandbox.os may not import"),
        ("runner.host._host", "orchestrator", "Storage", "runner may not import orchestrator"),
        (
            "orchestrator.api._service",
            "runner.host._host",
            "Job",
            "orchestrator may not import runner",
        ),
        ("runner.host._host", "corral.cli", "Client", "runner may not import cli"),
        ("corral.cli._main", "runner.host._host", "Job", "runner.host._host is private to runner"),
        ("corral.cli._main", "sandbox.os", "rlimits", "rlimits is not in sandbox.os.__all__"),
        ("corral.testing", "corral.cli", "cli", "testing may not import cli"),
        ("sandbox.language._guards", "sandbox", "WorkerLimits", "sandbox.language may not"),
        ("sandbox", "sandbox.os._contain", "probe", "sandbox.os._contain is private"),
        ("runner.worker._worker", "sandbox._limits", None, "sandbox._limits is private to sandbox"),
    ],
)
def test_a_breaking_import_is_found(
    importer: str, module: str, name: str | None, reason: str
) -> None:
    found = violation(Import(importer, module, name))
    assert found is not None
    assert found.reason.startswith(reason)


@pytest.mark.parametrize(
    ("importer", "module", "name"),
    [
        ("runner.worker._worker", "corral._json", None),
        ("corral.cli._main", "corral._settings", "ServeSettings"),
        ("corral.cli._main", "runner", "RunnerHost"),
        ("runner.host._containment", "sandbox.os", "contain_worker"),
        ("sandbox.language._compile", "sandbox.language._errors", "Violation"),
    ],
)
def test_a_layered_import_passes(importer: str, module: str, name: str | None) -> None:
    assert violation(Import(importer, module, name)) is None


def test_function_local_and_relative_imports_are_seen(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "_probe.py"
    path.write_text("def f():\n    from orchestrator import serve\n    from . import _json\n")
    found = list(imports_of("corral._probe", path))
    assert Import("corral._probe", "orchestrator", "serve") in found
    assert Import("corral._probe", "corral._json") in found
