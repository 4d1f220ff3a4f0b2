"""``corral compile --types``: mypy on function files, against the ``nango`` stubs.

Function code is checked as the stubs type it: annotate ``nango: Nango`` (and the input) to
have every SDK call checked; unannotated bodies are checked too (``--check-untyped-defs``), with
``nango`` as ``Any``. The stubs are found wherever corral is installed (a wheel puts
``nango-stubs`` in site-packages; a source checkout has it beside the packages), through a
temporary ``MYPYPATH`` folder, so no install mode can hide them.
"""

from __future__ import annotations

import os
import pathlib
import re
import tempfile
from collections.abc import Sequence
from typing import Any

import corral

RULE = "type"
_LINE = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<kind>error|note): (?P<message>.*)$"
)


class MypyMissing(Exception):
    """mypy is not installed where corral is."""


def stubs_folder() -> pathlib.Path | None:
    """The ``nango-stubs`` folder of this corral, or None."""
    package = pathlib.Path(corral.__file__).resolve().parent
    for candidate in (package.parent / "nango-stubs", package.parent.parent / "nango-stubs"):
        if (candidate / "__init__.pyi").is_file():
            return candidate
    return None


def type_violations(paths: Sequence[pathlib.Path]) -> list[dict[str, Any]]:
    """mypy's errors in ``paths`` as compile prints violations (rule ``type``).

    Raises:
        MypyMissing: mypy cannot be imported.
    """
    try:
        from mypy import api  # noqa: PLC0415 - mypy is heavy and optional
    except ImportError:
        raise MypyMissing("--types needs mypy: pip install mypy") from None
    stubs = stubs_folder()
    with tempfile.TemporaryDirectory(prefix="corral-types-") as work:
        search = pathlib.Path(work) / "path"
        search.mkdir()
        if stubs is not None:
            (search / "nango").symlink_to(stubs, target_is_directory=True)
        previous = os.environ.get("MYPYPATH")
        os.environ["MYPYPATH"] = str(search)
        try:
            out, _err, _status = api.run(
                [
                    "--check-untyped-defs",
                    "--show-column-numbers",
                    "--no-error-summary",
                    "--hide-error-context",
                    "--no-color-output",
                    "--no-incremental",
                    "--cache-dir",
                    str(pathlib.Path(work) / "cache"),
                    "--follow-imports=silent",
                    *(str(p) for p in paths),
                ]
            )
        finally:
            if previous is None:
                os.environ.pop("MYPYPATH", None)
            else:
                os.environ["MYPYPATH"] = previous
    asked = {str(p) for p in paths}
    found = []
    for line in out.splitlines():
        match = _LINE.match(line)
        if match and match["kind"] == "error" and match["file"] in asked:  # not the stubs' own
            found.append(
                {
                    "file": match["file"],
                    "line": int(match["line"]),
                    "column": int(match["column"]),
                    "rule": RULE,
                    "message": match["message"],
                }
            )
    return found
