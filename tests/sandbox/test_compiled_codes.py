"""A compiled program as bytes and back (``sandbox.export_codes``, ``program_from_codes``)."""

from __future__ import annotations

import marshal

import pytest

import sandbox

FILES = {
    "main.py": "from .helper import twice\nresult = twice(21)\n",
    "helper.py": "def twice(n):\n    return n * 2\n",
    "unused.py": "x = 1\n",
}


def test_a_program_loads_from_its_exported_codes() -> None:
    program = sandbox.compile_program(FILES, "main.py")
    codes = sandbox.export_codes(program)
    assert set(codes) == {"main.py", "helper.py"}  # the entry and what it imports
    loaded = sandbox.program_from_codes(FILES, "main.py", codes)
    assert loaded.files == program.files
    assert loaded.siblings == program.siblings
    assert loaded.load({})["result"] == 42


@pytest.mark.parametrize(
    "codes",
    [
        {},  # no entry
        {"main.py": b"", "helper.py": b""},  # not marshalled code
        {"main.py": marshal.dumps("main.py")},  # marshalled, not code
        {"main.py": marshal.dumps(compile("x = 1", "helper.py", "exec"))},  # another file's
        {"main.py": marshal.dumps(compile("x = 1", "main.py", "exec")), "zzz.py": b""},
    ],
    ids=["no-entry", "empty", "not-code", "another-file", "file-not-in-program"],
)
def test_codes_that_are_not_the_programs_are_refused(codes: dict[str, bytes]) -> None:
    with pytest.raises(sandbox.NotAProgram):
        sandbox.program_from_codes(FILES, "main.py", codes)
