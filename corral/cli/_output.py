"""Printing results and errors the same way in every command."""

from __future__ import annotations

import errno
import json
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click
from google.protobuf.message import Message

from corral.cli._plain import plain
from corral.cli._table import Table
from corral.errors import CorralError, RunFailure

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1
EXIT_USAGE = 2
USAGE_CODES = frozenset({"invalid_json", "missing_field", "invalid_file"})
"""The errors of what the user gave (JSON, a file named), which exit 2 as bad usage does."""


def on_terminal() -> bool:
    """Whether standard output is a terminal (a person reads it, not a script)."""
    return sys.stdout.isatty()


def can_ask() -> bool:
    """Whether a person can answer a question (standard input is a terminal)."""
    return sys.stdin.isatty()


def confirm(question: str) -> None:
    """Asks ``question`` on a terminal and stops (exit 1, nothing done) unless the answer is
    yes; off a terminal, where nobody can answer, refuses: the command needs --yes there."""
    if not can_ask():
        raise click.UsageError(f"{question} Nobody can answer here: give --yes to go on.")
    if not click.confirm(question, default=False, err=True):
        click.echo("nothing was done", err=True)
        sys.exit(EXIT_FAILED)


def emit(value: Any, compact: bool = False, table: Table | None = None) -> None:
    """Prints a value: as ``table`` on a terminal when there is one and ``--json`` was not
    given; otherwise as JSON (one line with ``--json``), a protobuf message in its plain form
    (``corral.cli._plain``)."""
    if isinstance(value, Message):
        value = plain(value)
    if table is not None and not compact and on_terminal():
        click.echo(table.render(value))
        return
    click.echo(json.dumps(value, ensure_ascii=False, indent=None if compact else 2))


def error_json(err: CorralError) -> dict[str, Any]:
    """An error as the commands print it; a run failure in the seed's shape."""
    if isinstance(err, RunFailure):
        out: dict[str, Any] = {
            "error_type": err.code,
            "payload": err.payload,
            "message": err.message,
        }
        if err.file:
            out |= {"file": err.file, "line": err.line}
        if err.details.get("run_id"):
            out["run_id"] = err.details["run_id"]
        return out
    return {"error_type": err.code, "message": err.message, "details": err.details}


def fail(err: CorralError, compact: bool = False) -> NoReturn:
    """Prints the error as JSON on standard error (one line if ``compact``) and exits 1 (2 for
    bad usage)."""
    text = json.dumps(error_json(err), ensure_ascii=False, indent=None if compact else 2)
    click.echo(text, err=True)
    usage = err.code in USAGE_CODES
    sys.exit(EXIT_USAGE if usage else EXIT_FAILED)


def unexpected(exc: Exception) -> NoReturn:
    """The last resort of ``corral``: an exception no command made a typed error is printed as
    one, on one line, exit 1, instead of a traceback: ``os_error`` for what the system refused
    (naming the path), ``internal_error`` otherwise (a bug: the exception's type and where it
    was raised are in the details, for the report)."""
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        name = errno.errorcode.get(exc.errno or 0, "")
        refused = f"cannot use{where}: {exc.strerror or exc}"
        fail(CorralError(refused, code="os_error", details={"errno": name} if name else {}), True)
    frames = traceback.extract_tb(exc.__traceback__)
    details = {"exception": type(exc).__name__}
    if frames:
        details["where"] = f"{frames[-1].filename}:{frames[-1].lineno}"
    message = f"internal error: {type(exc).__name__}: {exc}"
    fail(CorralError(message, code="internal_error", details=details), compact=True)


def reports_errors(func: F) -> F:
    """Turns CorralError from a command into a printed error and an exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CorralError as err:
            fail(err)

    return wrapper  # type: ignore[return-value]


def checked(check: Callable[[str], str]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that runs ``check`` on an option's value given (a bad one is a usage
    error naming the option, with what ``check`` expects)."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is None:
            return value
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback
