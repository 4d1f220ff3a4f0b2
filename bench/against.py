"""``--against REV``: this checkout against a git revision, in alternating runs.

The machine's speed moves by up to 2x within an hour, so a comparison with a JSON written
earlier (``--compare``) says as much about the machine as about the code. Here both trees run
in turns, ``before, after, before, after, ...`` (``--pairs`` of them), each a whole
``python -m bench`` with the same options in a process of its own: the revision from a
temporary ``git worktree`` (its modules first on ``PYTHONPATH``, this virtual environment's
packages), this checkout as it is. The table gives each row's values in run order and the
change of the medians, with how many pairs moved the same way: a change that half the pairs
contradict is the machine's.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def worktree(revision: str) -> Iterator[pathlib.Path]:
    """A detached worktree of ``revision`` (removed afterwards).

    Raises:
        subprocess.CalledProcessError: ``revision`` is not a commit of this repository.
    """
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        path = pathlib.Path(tmp) / "tree"
        _git("worktree", "add", "--detach", str(path), revision)
        try:
            yield path
        finally:
            _git("worktree", "remove", "--force", str(path))


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True)  # noqa: S607 - git, with this repository's own arguments
    return done.stdout.strip()


def run_once(tree: pathlib.Path, options: Sequence[str], results: pathlib.Path) -> dict[str, Any]:
    """One ``python -m bench`` of ``tree`` with ``options``; its JSON document.

    Raises:
        RuntimeError: the run failed (its last lines of output said why).
    """
    env = dict(os.environ) | {"PYTHONPATH": os.pathsep.join([str(tree), *_python_path()])}
    command = [sys.executable, "-m", "bench", *options, "--results", str(results)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the bench of {tree} failed:\n{done.stderr[-2000:]}")
    document: dict[str, Any] = json.loads((results / "latest.json").read_text())
    return document


def _python_path() -> list[str]:
    found = os.environ.get("PYTHONPATH", "")
    return [part for part in found.split(os.pathsep) if part]


def alternate(
    revision: str, options: Sequence[str], pairs: int
) -> list[tuple[str, dict[str, Any]]]:
    """``pairs`` runs of ``revision`` and of this checkout, in turns; ("before" or "after",
    its JSON document) in run order."""
    runs: list[tuple[str, dict[str, Any]]] = []
    with worktree(revision) as tree, tempfile.TemporaryDirectory() as out:
        for index in range(pairs):
            for label, where in (("before", tree), ("after", ROOT)):
                print(f"{label} {index + 1}/{pairs}...", file=sys.stderr, flush=True)
                results = pathlib.Path(out) / f"{label}-{index}"
                runs.append((label, run_once(where, options, results)))
    return runs


def table(revision: str, runs: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Each row's values before and after, in run order, and the change of their medians."""
    values: dict[str, dict[str, list[float]]] = {}
    shown: dict[str, tuple[str, str, str]] = {}
    for label, document in runs:
        for row in document["rows"]:
            values.setdefault(row["key"], {"before": [], "after": []})[label].append(row["value"])
            shown[row["key"]] = (row["engine"], row["name"], row["unit"])
    lines = [
        f"This checkout against {revision}, {len(runs) // 2} alternating pairs:",
        "",
        "| engine | path | before | after | change of the medians | pairs agreeing |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, found in values.items():
        engine, name, unit = shown[key]
        before, after = found["before"], found["after"]
        if not before or not after:
            continue
        lines.append(
            f"| {engine} | {name} | {_listed(before, unit)} | {_listed(after, unit)} "
            f"| {_change(before, after, unit)} | {_agreeing(before, after, unit)} |"
        )
    return "\n".join(lines) + "\n"


def _listed(values: list[float], unit: str) -> str:
    return " / ".join(f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" for v in values) + f" {unit}"


def _better(ratio: float, unit: str) -> bool:
    return ratio > 1 if unit.endswith("/s") else ratio < 1


def _change(before: list[float], after: list[float], unit: str) -> str:
    old, new = statistics.median(before), statistics.median(after)
    if not old:
        return "—"
    ratio = new / old
    word = "same" if ratio == 1 else ("better" if _better(ratio, unit) else "worse")
    return f"{(ratio - 1) * 100:+.1f}% ({word})"


def _agreeing(before: list[float], after: list[float], unit: str) -> str:
    """How many pairs moved the way the medians did."""
    old, new = statistics.median(before), statistics.median(after)
    if old == new:
        return "—"
    wanted = _better(new / old, unit) if old else True
    same = sum(
        1 for b, a in zip(before, after, strict=False) if b and _better(a / b, unit) == wanted
    )
    return f"{same} of {min(len(before), len(after))}"
