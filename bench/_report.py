"""The benchmark's output: a Markdown table and JSON in ``bench/results/``, and a comparison
with a previous JSON."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

from bench._rows import Row

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

_HEADER = (
    "| engine | path | median | p99 | floor | floor is | ratio | target | met |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    shown = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return f"{shown} {unit}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _met(row: Row) -> str:
    return {True: "pass", False: "miss", None: ""}[row.met]


def markdown(rows: Iterable[Row], context: Mapping[str, Any]) -> str:
    """The table, under a line that says when, how and on what it ran."""
    lines = [
        f"`{context['args']}` on {context['commit'] or 'a checkout'} at {context['started']} UTC"
        f", {context['seconds']:.0f} s, {context['cpus']} CPUs, load average (1, 5, 15 min) "
        f"{context['load_before']} before and {context['load_after']} after.",
        "",
        _HEADER,
    ]
    for row in rows:
        floor = _number(row.floor, row.unit) if row.floor else "—"
        ratio = _ratio(row.ratio)
        p99 = _number(row.p99, row.unit) if row.p99 is not None else "—"
        lines.append(
            f"| {row.engine} | {row.name} | {_number(row.value, row.unit)} | {p99} | {floor} "
            f"| {row.floor_what or '—'} | {ratio} | {row.target or '—'} | {_met(row)} |"
        )
    return "\n".join(lines) + "\n"


def write(rows: list[Row], context: Mapping[str, Any], directory: pathlib.Path) -> pathlib.Path:
    """Writes ``<stamp>.json``/``.md`` and ``latest.json``/``.md``; the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    document = (
        json.dumps({"context": dict(context), "rows": [r.as_json() for r in rows]}, indent=2) + "\n"
    )
    table = markdown(rows, context)
    stamp = str(context["started"]).replace(":", "").replace("-", "").replace(" ", "T")
    for name in (stamp, "latest"):
        (directory / f"{name}.json").write_text(document)
        (directory / f"{name}.md").write_text(table)
    return directory / f"{stamp}.json"


def compare(rows: list[Row], previous: pathlib.Path) -> str:
    """Each row's change from the same row of a previous JSON, better or worse."""
    before = {r["key"]: r for r in json.loads(previous.read_text())["rows"]}
    lines = [
        f"Against {previous}:",
        "",
        "| engine | path | before | now | change | ratio to the floor, before and now |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        old = before.get(row.key)
        if old is None or not old["value"]:
            change = "new row"
        else:
            ratio = row.value / old["value"]
            higher_is_better = row.unit.endswith("/s")
            better = ratio > 1 if higher_is_better else ratio < 1
            word = "same" if ratio == 1 else ("better" if better else "worse")
            change = f"{(ratio - 1) * 100:+.1f}% ({word})"
        shown = _number(old["value"], row.unit) if old else "—"
        ratios = f"{_ratio((old or {}).get('ratio'))} → {_ratio(row.ratio)}"
        lines.append(
            f"| {row.engine} | {row.name} | {shown} | {_number(row.value, row.unit)} "
            f"| {change} | {ratios} |"
        )
    return "\n".join(lines) + "\n"
