"""``corral test``: find the functions that have a fixture, run each offline, judge the result.

A function ``<folder>/<name>.py`` is tested against the first fixture found among
``<fixtures>/<folder name>/<name>.test.json`` (with ``--fixtures``), ``<folder>/<name>.test.json``
and ``<folder>/tests/<name>.test.json``; in each place the name may also be written with hyphens
for underscores (``create_comment.py`` finds ``create-comment.test.json``, the seeds' names).
A fixture beside the functions (or under ``tests/``) whose function file is missing is a failed
test. All runs share one runner host: the production worker and sandbox, no network.
"""

from __future__ import annotations

import pathlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral.cli._inputs import read_json, read_sources
from corral.errors import InvalidRequest
from corral.testing import (
    Verdict,
    check,
    dryrun_result,
    fixture_problem,
    offline_host,
    run_error,
)

if TYPE_CHECKING:
    from runner import RunnerHost

SUFFIX = ".test.json"


@dataclass(frozen=True)
class Case:
    """One test: a function file and its fixture.

    Attributes:
        folder: the integration folder (its name is the integration's).
        name: the function's name (the file's stem, or the fixture's for a missing file).
        function: the function's file, or None when the fixture has none.
        fixture: the fixture file.
    """

    folder: pathlib.Path
    name: str
    function: pathlib.Path | None
    fixture: pathlib.Path

    @property
    def label(self) -> str:
        """How the test is named in the output: ``<integration>/<function>``."""
        return f"{self.folder.resolve().name}/{self.name}"


@dataclass(frozen=True)
class CaseResult:
    """A test's verdict and how long it took."""

    case: Case
    verdict: Verdict
    seconds: float


def _spellings(stem: str) -> list[str]:
    return list(dict.fromkeys([stem, stem.replace("_", "-")]))


def find_fixture(function: pathlib.Path, fixtures: pathlib.Path | None) -> pathlib.Path | None:
    """The fixture of a function file, or None (see the module's docstring for the order)."""
    folder = function.parent
    places = [folder, folder / "tests"]
    if fixtures is not None:
        places.insert(0, fixtures / folder.resolve().name)
    for place in places:
        for stem in _spellings(function.stem):
            candidate = place / (stem + SUFFIX)
            if candidate.is_file():
                return candidate
    return None


def _hidden(path: pathlib.Path, root: pathlib.Path) -> bool:
    parts = path.relative_to(root).parts
    return any(p.startswith(".") or p == "__pycache__" for p in parts)


def _folders(root: pathlib.Path) -> list[pathlib.Path]:
    found = {root}
    for path in root.rglob("*.py"):
        found.add(path.parent)
    for path in root.rglob("*" + SUFFIX):
        found.add(path.parent.parent if path.parent.name == "tests" else path.parent)
    return sorted(f for f in found if f == root or not _hidden(f, root))


def _orphans(folder: pathlib.Path, used: set[pathlib.Path]) -> Iterator[Case]:
    stems = {p.stem for p in folder.glob("*.py")}
    for place in (folder, folder / "tests"):
        for fixture in sorted(place.glob("*" + SUFFIX)):
            stem = fixture.name.removesuffix(SUFFIX)
            if fixture not in used and not {stem, stem.replace("-", "_")} & stems:
                yield Case(folder, stem, None, fixture)


def discover(target: pathlib.Path, fixtures: pathlib.Path | None = None) -> list[Case]:
    """The tests under ``target``: a function file, an integration folder, or a folder of them."""
    if target.is_file():
        fixture = find_fixture(target, fixtures)
        return [Case(target.parent, target.stem, target, fixture)] if fixture else []
    cases: list[Case] = []
    for folder in _folders(target):
        found = [(f, find_fixture(f, fixtures)) for f in sorted(folder.glob("*.py"))]
        cases += [Case(folder, f.stem, f, x) for f, x in found if x is not None]
        cases += _orphans(folder, {x for _, x in found if x is not None})
    return cases


class Describer:
    """The kind of every function of a folder, from one ``describe`` run per folder."""

    def __init__(self, host: RunnerHost) -> None:
        self._host = host
        self._kinds: dict[pathlib.Path, dict[str, str] | str] = {}

    def kind(self, function: pathlib.Path) -> str:
        """``sync``, ``action`` or ``on_event``.

        Raises:
            LookupError: the folder does not load, or the file defines no function (the
                message says which).
        """
        folder = function.parent
        if folder not in self._kinds:
            self._kinds[folder] = self._describe(folder)
        kinds = self._kinds[folder]
        if isinstance(kinds, str):
            raise LookupError(kinds)
        if function.name not in kinds:
            raise LookupError(
                f"{function.name} defines no function: bind the result of create_sync, "
                "create_action or create_on_event"
            )
        return kinds[function.name]

    def _describe(self, folder: pathlib.Path) -> dict[str, str] | str:
        from corral.testing import OfflineCallbacks  # noqa: PLC0415 - the heavy imports
        from runner import Job  # noqa: PLC0415

        try:
            files = read_sources(folder)
        except InvalidRequest as err:
            return err.message
        job = Job(
            run_id="describe-" + uuid.uuid4().hex[:12],
            kind="",
            function_name="",
            entry="",
            files=files,
            mode="describe",
        )
        outcome = self._host.execute(job, OfflineCallbacks())
        if not outcome.ok or not isinstance(outcome.output, dict):
            return "the folder's functions do not load: " + run_error(outcome.error)
        return {name: str(d.get("kind")) for name, d in outcome.output.items()}


def _fail(reason: str) -> Verdict:
    return Verdict(ok=False, reason=reason)


def _load(fixture: pathlib.Path) -> tuple[Any, str]:
    try:
        content = read_json(fixture, what="fixture")
    except InvalidRequest as err:
        return None, f"cannot read the fixture: {err.message}"
    problem = fixture_problem(content)
    return content, (f"{fixture}: {problem}" if problem else "")


def judge(case: Case, host: RunnerHost, describer: Describer) -> Verdict:
    """Runs one test; every failure (even an internal one) is a verdict, never an exception."""
    if case.function is None:
        return _fail(f"no function file {case.folder / (case.name + '.py')} for {case.fixture}")
    content, problem = _load(case.fixture)
    if problem:
        return _fail(problem)
    try:
        kind = describer.kind(case.function)
        result = dryrun_result(
            case.function, None, None, content, host=host, integration=case.folder.resolve().name
        )
    except LookupError as exc:
        return _fail(str(exc))
    except Exception as exc:  # a test run reports, it does not crash
        return _fail(f"internal error while running the test: {type(exc).__name__}: {exc}")
    return check(kind, content, result)


def run_suite(cases: list[Case], report: Callable[[CaseResult], None]) -> list[CaseResult]:
    """Runs the tests in order in one runner host, calling ``report`` after each."""
    results: list[CaseResult] = []
    if not cases:
        return results
    with offline_host(prewarm=1) as host:
        describer = Describer(host)
        for case in cases:
            started = time.monotonic()
            verdict = judge(case, host, describer)
            results.append(CaseResult(case, verdict, time.monotonic() - started))
            report(results[-1])
    return results
