"""Violations: what the compiler reports, and what the guards record and raise at run time.

A guard that refuses something both records the refusal (``violations()``) and raises
``SandboxViolation``. Customer code can catch the exception, never the record: the worker fails
a run whose record is not empty.
"""

from __future__ import annotations

import decimal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from corral.errors import RunFailure

FILE_KEY = "__corral_file__"
"""Key, in the globals of every customer module, naming its file (customer code cannot set it)."""


def made_by_function(value: object) -> bool:
    """Whether ``value`` (a function, or a method's function) is code of a function file: its
    globals are a file's namespace, which holds ``FILE_KEY``."""
    namespace = getattr(getattr(value, "__func__", value), "__globals__", None)
    return isinstance(namespace, dict) and FILE_KEY in namespace


_MAX_RECORDS = 100
_records: list[dict[str, Any]] = []
_dropped = 0

ViolationReporter = Callable[[Mapping[str, Any]], None]
_reporters: list[ViolationReporter] = []


@dataclass(frozen=True)
class Violation:
    """One place where a function file breaks the policy.

    Attributes:
        file: the file name, as given in ``files``.
        line: 1-based line (0 when the whole file is concerned).
        column: 1-based column (0 when unknown).
        rule: a stable snake_case name of the broken rule (``private_name``, ``syntax``, ...).
        message: what is not allowed, for the function author.
    """

    file: str
    line: int
    column: int
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The violation as JSON-able data (``CompileError.details["errors"]`` items)."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
        }


class SandboxViolation(RunFailure):
    """Customer code tried something the sandbox forbids (code ``sandbox_violation``).

    Attributes:
        rule: the stable name of the broken rule, also in ``payload["rule"]``.
    """

    def __init__(self, rule: str, message: str, *, file: str = "", line: int = 0) -> None:
        super().__init__("sandbox_violation", message, payload={"rule": rule}, file=file, line=line)
        self.rule = rule


class ResourceLimitExceeded(RunFailure):
    """An operation would have built a value larger than the policy allows."""

    def __init__(self, message: str, *, file: str = "", line: int = 0) -> None:
        super().__init__("resource_exhausted", message, file=file, line=line)


def customer_location() -> tuple[str, int]:
    """The file and line of the innermost customer frame on the stack, or ``("", 0)``."""
    frame = sys._getframe(1)
    while frame is not None:
        if FILE_KEY in frame.f_globals:
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return "", 0


def deny(rule: str, message: str) -> NoReturn:
    """Record a violation at the current customer location and raise it.

    Raises:
        SandboxViolation: always.
    """
    global _dropped  # noqa: PLW0603 - the record is process state by design
    file, line = customer_location()
    record = {"rule": rule, "message": message, "file": file, "line": line}
    if len(_records) < _MAX_RECORDS:
        _records.append(record)
    else:
        _dropped += 1
    for reporter in _reporters:
        reporter(dict(record))
    raise SandboxViolation(rule, message, file=file, line=line)


def set_violation_reporter(reporter: ViolationReporter | None) -> None:
    """Have ``reporter`` called with each violation the moment a guard refuses something.

    The call comes before ``SandboxViolation`` is raised, so before customer code could catch
    it. The worker's reporter tells the runner, which ends the run there; ``None`` removes it.
    """
    _reporters[:] = [] if reporter is None else [reporter]


def exhausted(message: str) -> NoReturn:
    """Raise ``ResourceLimitExceeded`` at the current customer location (not recorded)."""
    file, line = customer_location()
    raise ResourceLimitExceeded(message, file=file, line=line)


def violations() -> list[dict[str, Any]]:
    """Every guard violation recorded in this process since ``reset_run_state()``.

    Returns:
        Dicts with ``rule``, ``message``, ``file`` and ``line``, oldest first. Violations that
        customer code caught are included. After 100 records, one more entry counts the rest.
    """
    out = [dict(record) for record in _records]
    if _dropped:
        out.append(
            {"rule": "too_many_violations", "message": f"{_dropped} more", "file": "", "line": 0}
        )
    return out


def reset_run_state() -> None:
    """Forget recorded violations and restore per-thread library state (the decimal context).

    The worker calls this before each run; ``violations()`` then reports only that run.
    """
    global _dropped  # noqa: PLW0603 - the record is process state by design
    _records.clear()
    _dropped = 0
    decimal.setcontext(decimal.Context())
