"""``corral --help``: commands grouped for operators and for authors, an example in each group,
every command listed once, and no summary cut short."""

from __future__ import annotations

import re

from click.testing import CliRunner

from corral.cli._main import cli


def test_help_groups_every_command_once_with_an_example_and_whole_summaries() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    text = result.output
    operators = text.index("Commands for operators:")
    authors = text.index("Commands for function authors:")
    assert operators < authors
    assert text.count("Example: corral ") == 2
    assert "..." not in text.replace("[ARGS]...", "")
    listed = re.findall(r"^  ([a-z][a-z-]*)  ", text, flags=re.MULTILINE)
    assert sorted(listed) == sorted(cli.commands)  # type: ignore[attr-defined]
    assert "serve" in re.findall(r"^  ([a-z-]+)  ", text[operators:authors], flags=re.MULTILINE)
    assert "dryrun" in re.findall(r"^  ([a-z-]+)  ", text[authors:], flags=re.MULTILINE)


def test_no_group_cuts_a_summary() -> None:
    for group in ("env", "connection", "integration", "trigger", "sync"):
        result = CliRunner().invoke(cli, [group, "--help"], terminal_width=100)
        assert result.exit_code == 0, result.output
        assert "..." not in result.output.replace("[ARGS]...", ""), (group, result.output)
