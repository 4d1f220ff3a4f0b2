"""Tables for people: what list commands print on a terminal (``--json`` prints JSON)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Cell = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Table:
    """How one list command prints on a terminal: the list under ``key`` of its JSON value,
    one row per item, one column per (header, cell)."""

    key: str
    columns: Sequence[tuple[str, Cell]]
    empty: str = "none"

    def render(self, value: Mapping[str, Any], width: int | None = None) -> str:
        """The table (``empty`` when there is no row), each cell cut to fit the terminal."""
        items = value.get(self.key) or []
        if not items:
            return f"({self.empty})"
        rows = [[_text(cell(item)) for _, cell in self.columns] for item in items]
        headers = [header for header, _ in self.columns]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        room = width or shutil.get_terminal_size((120, 24)).columns
        widths = _fit(widths, room)
        lines = [_line(headers, widths), _line(["-" * w for w in widths], widths)]
        lines += [_line(row, widths) for row in rows]
        return "\n".join(lines)


def field(name: str) -> Cell:
    """A cell that is the item's ``name``."""
    return lambda item: item.get(name)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else "-"
    return str(value).replace("\n", " ")


def _fit(widths: list[int], room: int) -> list[int]:
    """Narrows the widest columns (never below 8) until the row fits ``room``."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > room:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= 8:
            break
        widths[widest] -= 1
    return widths


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    out = []
    for cell, width in zip(cells, widths, strict=True):
        shown = cell if len(cell) <= width else cell[: max(width - 1, 0)] + "…"
        out.append(shown.ljust(width))
    return "  ".join(out).rstrip()
