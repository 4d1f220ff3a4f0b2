"""The order ruff's RUF022 gives ``__all__``: CONSTANTS, then Classes, then functions."""

from __future__ import annotations

from collections.abc import Iterable


def _key(name: str) -> tuple[int, str]:
    if name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def all_order(names: Iterable[str]) -> list[str]:
    """``names`` in RUF022's isort-style order."""
    return sorted(names, key=_key)
