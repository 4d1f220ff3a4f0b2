"""What a user names or gives a command: the files it reads and writes, the JSON of its options.

Every command reads them here, so a bad one is the same typed error in every command, naming
the file or the option and the reason, never a traceback:

- ``invalid_file``: a file that cannot be read as asked (it does not exist, is a dangling
  link, a folder, a FIFO, socket or device, cannot be opened, is not UTF-8 text, or is larger
  than the command reads), or cannot be written (its folder does not exist or is not
  writable, it is a folder).
- ``invalid_json``: text that ``corral._json`` refuses (strict: no ``NaN``, ``1e999``, lone
  surrogates or nesting deeper than 128 levels, as the server reads JSON), or JSON of the
  wrong shape (an array where an object is expected).

A file is opened without blocking and checked to be a regular file before it is read: a FIFO
named like a function file cannot hang a command.
"""

from __future__ import annotations

import os
import pathlib
import stat
import tempfile
from collections.abc import Mapping
from typing import Any, Literal

from corral import _json
from corral.errors import InvalidRequest

MAX_SOURCE_BYTES = 4 << 20
"""The largest function file read: a deploy takes at most this much for all its files."""
MAX_JSON_BYTES = 256 << 20
"""The largest JSON file read (a fixture of recorded responses is the largest there is)."""

Shape = Literal["any", "object"]

MISSING = "does not exist"
"""How a problem of a path that is not there starts (a dangling link's too)."""
FOLDER = "is a folder, not a file"


def invalid_file(path: pathlib.Path, what: str, why: str) -> InvalidRequest:
    """The error of a file a command cannot use: ``{what} {path} {why}``."""
    return InvalidRequest(f"{what} {path} {why}", code="invalid_file", details={"file": str(path)})


def _open_problem(path: pathlib.Path, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{MISSING} (a link to a missing path)" if path.is_symlink() else MISSING
    return f"cannot be opened ({exc.strerror or exc})"


def _kind_problem(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return FOLDER
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device)"
    return None


def file_problem(path: pathlib.Path) -> str | None:
    """Why ``path`` cannot be read as a file, or None when it can (its kind only)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return _open_problem(path, exc)
    return _kind_problem(mode)


def check_files(named: Mapping[str, str | pathlib.Path | None]) -> None:
    """Refuses the files that settings name (``CORRAL_TLS_CA (--tls-ca)``: path) that exist but
    are not regular files, before a reader opens one and waits on a FIFO; unset ones ("", None)
    pass, and so do missing or unreadable ones: their reader says so with the setting's own
    error (``invalid_tls``, ``invalid_setting``), as operators have learned it.

    Raises:
        InvalidRequest: ``invalid_file``, naming the setting and the reason.
    """
    for name, path in named.items():
        try:
            mode = pathlib.Path(path).stat().st_mode if path else None
        except OSError:
            continue
        problem = _kind_problem(mode) if mode is not None else None
        if problem:
            raise invalid_file(pathlib.Path(str(path)), name, problem)


def read_bytes(path: pathlib.Path, *, what: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises:
        InvalidRequest: ``invalid_file``, naming ``what`` and the reason.
    """
    try:  # O_NONBLOCK: a FIFO opens at once, and is refused below instead of waited on
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise invalid_file(path, what, _open_problem(path, exc)) from None
    try:
        problem = _kind_problem(os.fstat(fd).st_mode)
        if problem:
            raise invalid_file(path, what, problem)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise invalid_file(path, what, f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise invalid_file(path, what, f"is larger than {limit} bytes")
    return data


def read_text(path: pathlib.Path, *, what: str, limit: int = MAX_SOURCE_BYTES) -> str:
    """The UTF-8 text of the file ``path``.

    Raises:
        InvalidRequest: ``invalid_file``: it cannot be read, or is not UTF-8.
    """
    data = read_bytes(path, what=what, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"is not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise invalid_file(path, what, why) from None


def read_sources(folder: pathlib.Path) -> dict[str, str]:
    """The ``.py`` files of an integration folder (not recursive), by name: what a deploy sends.

    Raises:
        InvalidRequest: ``invalid_file``, naming the first file that cannot be read.
    """
    return {p.name: read_text(p, what="function file") for p in sorted(folder.glob("*.py"))}


def read_json(
    path: pathlib.Path, *, what: str, shape: Shape = "any", limit: int = MAX_JSON_BYTES
) -> Any:
    """The JSON value of the file ``path``, read strictly.

    Raises:
        InvalidRequest: ``invalid_file`` (the file cannot be read), ``invalid_json`` (it is
            empty, not JSON, or not of ``shape``).
    """
    data = read_bytes(path, what=what, limit=limit)
    named = f"{what} {path}"
    if not data.strip():
        raise InvalidRequest(f"{named} is empty; expected JSON", code="invalid_json")
    return _parsed(data, named, shape)


def json_option(text: str | None, what: str, shape: Shape = "any") -> Any:
    """The JSON value of an option (None when it is not given or empty), read strictly.

    Raises:
        InvalidRequest: ``invalid_json``, naming the option (``what``).
    """
    if not text:
        return None
    return _parsed(text, what, shape)


def _parsed(text: str | bytes, what: str, shape: Shape) -> Any:
    if shape == "object":
        return _json.loads_object(text, what=what)
    return _json.loads(text, what=what)


def writable_problem(path: pathlib.Path) -> str | None:
    """Why the file ``path`` cannot be written (made or replaced), or None when it can."""
    if path.exists() or path.is_symlink():
        problem = file_problem(path)
        if problem:
            return problem
        if not os.access(path, os.W_OK):
            return "cannot be written (permission denied)"
    folder = path.resolve().parent
    if not folder.is_dir():
        return f"cannot be written: its folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot be written: no permission to write in {folder}"
    return None


def check_writable(path: pathlib.Path, what: str) -> None:
    """Refuses a file a command would write, before the command does anything.

    Raises:
        InvalidRequest: ``invalid_file``, naming ``what`` and the reason.
    """
    problem = writable_problem(path)
    if problem:
        raise invalid_file(path, what, problem)


def write_text(path: pathlib.Path, text: str, *, what: str) -> None:
    """Writes ``text`` to ``path`` whole or not at all: a failed write keeps the file before.

    Raises:
        InvalidRequest: ``invalid_file``, naming ``what`` and the reason.
    """
    target = path.resolve()
    temporary: pathlib.Path | None = None
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        temporary = pathlib.Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        temporary.chmod(mode)  # mkstemp makes it 0600: the file's mode, or a new file's usual
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise invalid_file(path, what, f"cannot be written ({exc.strerror or exc})") from None
