"""What is wrong with a path an author gave: said the same way by every command."""

from __future__ import annotations

import pathlib


def python_target_problem(path: pathlib.Path, folders: bool = True) -> str | None:
    """Why ``path`` is not a function file (or, with ``folders``, a folder of them); None when it
    is one."""
    if not path.exists():
        return f"{path} does not exist"
    if path.is_dir():
        return None if folders else f"{path} is a folder; expected a .py file"
    if path.suffix != ".py":
        return f"{path} is not a .py file" + (" or a folder" if folders else "")
    return None
