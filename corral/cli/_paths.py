"""What is wrong with a path an author gave: said the same way by every command."""

from __future__ import annotations

import pathlib

from corral.cli._inputs import FOLDER, MISSING, file_problem


def python_target_problem(path: pathlib.Path, folders: bool = True) -> str | None:
    """Why ``path`` is not a function file (or, with ``folders``, a folder of them); None when it
    is one (a FIFO, socket or device named ``.py`` is not: reading it would wait forever)."""
    problem = file_problem(path)
    if problem == FOLDER:
        return None if folders else f"{path} is a folder; expected a .py file"
    if problem is not None and (problem.startswith(MISSING) or path.suffix == ".py"):
        return f"{path} {problem}"
    if path.suffix != ".py":
        return f"{path} is not a .py file" + (" or a folder" if folders else "")
    return None
