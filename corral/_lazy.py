"""Names a package exports on first use (PEP 562), so that importing one of its modules does
not import every other: the runner host imports ``runner.host`` without the SDK and
``sandbox.os`` without RestrictedPython (docs/runtime.md, "The runner host's memory")."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: each name of ``where`` imported from its
    module (``where[name]``) when first used, then kept in the package."""

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return getattr_
