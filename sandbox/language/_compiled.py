"""A compiled program as bytes, and back: how a program compiled in one worker reaches another.

A compile worker (``mode: compile``) compiles a function's files and never runs them; the runner
host keeps what it sent (``export_codes``) by the files' content and gives it to later runs'
workers, which load it (``program_from_codes``) instead of compiling again. The bytes are never
loaded outside a contained worker.
"""

from __future__ import annotations

import marshal
from collections.abc import Mapping
from types import CodeType, MappingProxyType

from sandbox.language._execute import Program, sibling_files
from sandbox.language._policy import DEFAULT_POLICY, Policy


class NotAProgram(ValueError):
    """Bytes that are not the compiled files of the program asked for."""


def export_codes(program: Program) -> dict[str, bytes]:
    """File name → the file's compiled code, marshalled."""
    return {name: marshal.dumps(code) for name, code in program.codes.items()}


def program_from_codes(
    files: Mapping[str, str],
    entry: str,
    codes: Mapping[str, bytes],
    policy: Policy = DEFAULT_POLICY,
) -> Program:
    """The program of ``files`` whose compiled files are ``codes`` (``export_codes``).

    Raises:
        NotAProgram: ``codes`` lacks the entry, names a file not among ``files``, or holds
            something that is not a code object compiled from that file.
    """
    if entry not in codes or not set(codes) <= set(files):
        raise NotAProgram("the compiled files are not those of the program")
    loaded: dict[str, CodeType] = {}
    for name, data in codes.items():
        try:
            code = marshal.loads(data)  # noqa: S302 - in the contained worker only, see above
        except (ValueError, EOFError, TypeError) as exc:
            raise NotAProgram(f"{name}: not marshalled code ({exc})") from None
        if type(code) is not CodeType or code.co_filename != name:
            raise NotAProgram(f"{name}: not the compiled code of that file")
        loaded[name] = code
    return Program(entry, MappingProxyType(loaded), policy, sibling_files(files))
