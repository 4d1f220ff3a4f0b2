"""``corral --help``: commands grouped for operators and for authors, an example in each group,
every command listed once, and no summary cut short."""

from __future__ import annotations

import os
import re
import subprocess
import sys

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


def test_shell_completion_as_the_readme_documents_it() -> None:
    """``eval "$(_CORRAL_COMPLETE=bash_source corral)"`` gives a script; completing "corral ru"
    offers the commands that start so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_CORRAL")}
    script = subprocess.run(
        [sys.executable, "-m", "corral"],
        env=env | {"_CORRAL_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "_corral_completion" in script.stdout
    offered = subprocess.run(
        [sys.executable, "-m", "corral"],
        env=env
        | {"_CORRAL_COMPLETE": "bash_complete", "COMP_WORDS": "corral ru", "COMP_CWORD": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert offered.stdout.split() == ["plain,runner", "plain,runners", "plain,runs"]
