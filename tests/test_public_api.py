"""Every package re-exports a sorted ``__all__`` (ruff's RUF022 order) of names that exist."""

from __future__ import annotations

import importlib

import pytest

from tests.support.ordering import all_order

PACKAGES = [
    *("corral", "corral.cli", "corral.testing", "runner", "orchestrator", "orchestrator.webhooks"),
    *("sandbox", "sandbox.language", "sandbox.os"),
]


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted_and_importable(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == all_order(names)
    for name in names:
        assert hasattr(module, name), name
