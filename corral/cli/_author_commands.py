"""Commands for function authors: ``init``, ``new``, ``compile`` and ``test``.

They work on local files only: no server, no connection. ``compile`` checks files against the
sandbox policy; ``test`` runs functions offline through the production runner and sandbox,
against their ``*.test.json`` fixtures.
"""

from __future__ import annotations

import json
import keyword
import pathlib
import re
import sys
import time
from typing import Any, NoReturn

import click

from corral.cli import _output, _templates
from corral.cli._inputs import read_sources
from corral.cli._output import EXIT_FAILED, EXIT_USAGE
from corral.cli._paths import python_target_problem
from corral.cli._test_suite import SUFFIX, CaseResult, discover, run_suite
from corral.errors import InvalidRequest
from corral.testing import render

# The same rules as a deploy's (orchestrator/lifecycle/_deploy.py), checked before anything is
# written.
INTEGRATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")

README = """# {name}

Functions of the `{name}` integration: `corral new sync|action|on-event NAME --integration {name}`
adds one (with a fixture beside it), `corral compile {name}` checks them against the sandbox
policy, `corral test {name}` replays their `*.test.json` fixtures, `corral deploy {name}`
deploys them.
"""


def _usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _write_new(path: pathlib.Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite
            handle.write(text)
    except OSError as exc:
        _usage(f"cannot write {path}: {exc.strerror or exc}")


def _make_folder(folder: pathlib.Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _usage(f"cannot make the folder {folder}: {exc.strerror or exc}")


@click.command()
@click.argument("integration")
def init(integration: str) -> None:
    """Create the folder INTEGRATION for an integration's functions, with a README.

    The folder may exist if it has no README.md yet; nothing is overwritten.
    """
    folder = pathlib.Path(integration)
    if not INTEGRATION_NAME.match(folder.name):
        _usage(f"invalid integration name {folder.name!r}: letters, digits, '_', '.', '-'")
    if folder.exists() and not folder.is_dir():
        _usage(f"{folder} exists and is not a folder")
    readme = folder / "README.md"
    if readme.exists():
        _usage(f"{readme} already exists; nothing was changed")
    _make_folder(folder)
    _write_new(readme, README.format(name=folder.name))
    click.echo(f"created {folder}/ (add a function: corral new sync NAME --integration {folder})")


@click.command()
@click.argument("kind", type=click.Choice(_templates.KINDS))
@click.argument("name")
@click.option(
    "--integration",
    "folder",
    type=click.Path(path_type=pathlib.Path),
    help="The integration folder to write into (asked for on a terminal; required otherwise).",
)
def new(kind: str, name: str, folder: pathlib.Path | None) -> None:
    """Write a new KIND function NAME.py from a template, and NAME.test.json beside it.

    The function passes `corral test` as generated. NAME is a Python identifier (it becomes
    the function's name); existing files are never overwritten. Without --integration the
    folder is asked for on a terminal, and refused elsewhere: a function is never written into
    whatever folder the command happens to run in.
    """
    if not FUNCTION_NAME.match(name) or keyword.iskeyword(name) or name == "nango":
        _usage(f"invalid function name {name!r}: a Python identifier, not a keyword or 'nango'")
    if folder is None:
        if not _output.can_ask():
            _usage("--integration FOLDER is needed: the integration folder to write into")
        folder = pathlib.Path(click.prompt("Integration folder (made by corral init)"))
    if not folder.is_dir():
        _usage(f"{folder} is not a folder (create it with: corral init {folder})")
    code, fixture = folder / f"{name}.py", folder / f"{name}{SUFFIX}"
    taken = [str(p) for p in (code, fixture) if p.exists()]
    if taken:
        _usage(f"{', '.join(taken)} already exist(s); nothing was written")
    _write_new(code, _templates.source(kind, name))
    _write_new(fixture, _templates.fixture(kind, name))
    click.echo(f"created {code} and {fixture}")
    click.echo(f"run its test: corral test {folder}")


def _read_folder(folder: pathlib.Path) -> dict[str, str]:
    try:
        return read_sources(folder)
    except InvalidRequest as err:  # what a deploy would refuse: not UTF-8, too large, a FIFO
        _usage(err.message)


def _groups(target: pathlib.Path) -> list[tuple[pathlib.Path, dict[str, str], set[str]]]:
    """(folder, its .py files, the files to report) for a file, or each folder under a folder.

    A file is checked with its folder's other files (its siblings, for relative imports).
    """
    if target.is_file():
        return [(target.parent, _read_folder(target.parent), {target.name})]
    groups = []
    for folder in sorted({p.parent for p in target.rglob("*.py")}):
        parts = folder.relative_to(target).parts
        if not any(p.startswith(".") or p == "__pycache__" for p in parts):
            files = _read_folder(folder)
            groups.append((folder, files, set(files)))
    return groups


def _violations(files: dict[str, str], report: set[str]) -> list[dict[str, Any]]:
    """The policy violations of the ``report`` files, compiler's and imports', by place."""
    import sandbox  # noqa: PLC0415 - RestrictedPython is heavy for the other commands
    from corral.cli._import_check import import_violations  # noqa: PLC0415
    from runner import SDK_MODULE  # noqa: PLC0415

    found = {tuple(v.to_dict().values()): v for v in sandbox.check_sources(files)}
    for violation in import_violations(files, SDK_MODULE):
        found.setdefault(tuple(violation.to_dict().values()), violation)
    from corral.cli._definition_check import definition_violations  # noqa: PLC0415

    listed = [v.to_dict() for v in found.values()] + definition_violations(files)
    ordered = sorted(listed, key=lambda v: (v["file"], v["line"], v["column"]))
    return [v for v in ordered if v["file"] in report]


@click.command("compile")
@click.argument("target", type=click.Path(path_type=pathlib.Path))
@click.option("--json", "as_json", is_flag=True, help="Print the violations as a JSON list.")
@click.option(
    "--types", is_flag=True, help="Also type-check the files with mypy against the nango stubs."
)
def compile_command(target: pathlib.Path, as_json: bool, types: bool) -> None:
    """Check every function file of TARGET (a .py file or a folder) against the sandbox policy.

    Prints every violation of every file as file:line:column: rule: message; exits 1 when there
    is any, 0 when there is none, 2 on a usage error.
    """
    problem = python_target_problem(target)
    if problem:
        _usage(problem)
    found: list[dict[str, Any]] = []
    groups = _groups(target)
    if not any(report for _, _, report in groups):
        _usage(f"no function file under {target}: nothing to check")
    for folder, files, report in groups:
        found += [v | {"file": str(folder / v["file"])} for v in _violations(files, report)]
    if types:
        found += _type_violations(
            [folder / name for folder, _, report in groups for name in report]
        )
        found.sort(key=lambda v: (v["file"], v["line"], v["column"]))
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
    for item in [] if as_json else found:
        click.echo("{file}:{line}:{column}: {rule}: {message}".format(**item))
    count = sum(len(report) for _, _, report in groups)
    bad = len({item["file"] for item in found})
    summary = f"{len(found)} violation(s) in {bad} of" if found else "no violations in"
    click.echo(f"{summary} {count} file(s)", err=True)
    sys.exit(EXIT_FAILED if found else 0)


def _type_violations(paths: list[pathlib.Path]) -> list[dict[str, Any]]:
    from corral.cli._type_check import MypyMissing, type_violations  # noqa: PLC0415

    try:
        return type_violations(sorted(paths))
    except MypyMissing as exc:
        _usage(str(exc))


def _progress(result: CaseResult) -> None:
    word = "PASS" if result.verdict.ok else "FAIL"
    click.echo(f"{word} {result.case.label} ({result.seconds:.2f} s)")
    for line in render(result.verdict):
        click.echo("    " + line)


def _as_json(result: CaseResult) -> dict[str, Any]:
    verdict = result.verdict
    return {
        "name": result.case.label,
        "ok": verdict.ok,
        "seconds": round(result.seconds, 3),
        "function": str(result.case.function) if result.case.function else None,
        "fixture": str(result.case.fixture),
        "reason": verdict.reason,
        "details": render(verdict)[1:],
    }


@click.command("test")
@click.argument("target", type=click.Path(path_type=pathlib.Path))
@click.option(
    "--fixtures",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    metavar="DIR",
    help="Look for fixtures in DIR/<integration>/<function>.test.json first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
def test_command(target: pathlib.Path, fixtures: pathlib.Path | None, as_json: bool) -> None:
    """Run every function under TARGET that has a fixture, offline, and compare its results.

    A function NAME.py is tested against NAME.test.json beside it, under tests/, or (with
    --fixtures) in DIR/<integration folder name>/. An action passes when its output equals the
    fixture's "output"; a sync when its saved records equal "nango.batchSave" per model (and its
    deletions "nango.batchDelete" where that lists any). Exits 1 when any test fails.
    """
    problem = python_target_problem(target)
    if problem:
        _usage(problem)
    if fixtures is not None and not fixtures.is_dir():
        _usage(f"--fixtures {fixtures} is not a folder")
    cases = discover(target, fixtures)
    started = time.monotonic()
    results = run_suite(cases, (lambda _: None) if as_json else _progress)
    failed = sum(1 for r in results if not r.verdict.ok)
    passed = len(results) - failed
    if as_json:
        tests = [_as_json(r) for r in results]
        click.echo(json.dumps({"passed": passed, "failed": failed, "tests": tests}, indent=2))
    elif not cases:
        click.echo(f"no tests: no function under {target} has a *{SUFFIX} fixture")
    else:
        click.echo(f"{passed} passed, {failed} failed ({time.monotonic() - started:.2f} s)")
    sys.exit(EXIT_FAILED if failed else 0)


author_commands = [init, new, compile_command, test_command]
