"""confirm(): a person at a terminal answers; a script without --yes is refused, nothing done."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from corral.cli import _output
from corral.cli._output import confirm

done: list[str] = []


@click.command()
def _delete() -> None:
    confirm("Delete it?")
    done.append("deleted")


@pytest.mark.parametrize(("answer", "deleted", "code"), [("y\n", True, 0), ("n\n", False, 1)])
def test_a_person_decides(
    monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool, code: int
) -> None:
    done.clear()
    monkeypatch.setattr(_output, "can_ask", lambda: True)
    result = CliRunner().invoke(_delete, input=answer)
    assert result.exit_code == code
    assert ("deleted" in done) is deleted
    assert "Delete it?" in result.output


def test_nobody_to_ask_is_a_usage_error_and_nothing_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done.clear()
    monkeypatch.setattr(_output, "can_ask", lambda: False)
    result = CliRunner().invoke(_delete)
    assert result.exit_code == 2
    assert "--yes" in result.output
    assert done == []
