"""``corral --help``: the commands in two groups, for operators and for function authors, each
with an example, every summary whole."""

from __future__ import annotations

import click

OPERATOR_COMMANDS = ("serve", "runner", "env", "certs", "health", "runners")
"""Commands that run or look after the service."""

GROUPS = (
    (
        "Commands for operators",
        OPERATOR_COMMANDS,
        "corral serve --data-dir /var/lib/corral",
    ),
    (
        "Commands for function authors",
        None,  # every other command
        "corral dryrun github/issues.py --fixture github/issues.test.json",
    ),
)

SUMMARY_CHARACTERS = 400
"""Long enough that click never cuts a summary with "..."."""


class Group(click.Group):
    """A click group whose help shows every command's summary whole (never cut with "...")."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands with their whole summaries."""
        rows = self._rows(ctx, [n for n in self.list_commands(ctx) if not self._hidden(ctx, n)])
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _rows(self, ctx: click.Context, names: list[str]) -> list[tuple[str, str]]:
        rows = []
        for name in names:
            command = self.get_command(ctx, name)
            if command is not None:
                rows.append((name, command.get_short_help_str(limit=SUMMARY_CHARACTERS)))
        return rows

    def _hidden(self, ctx: click.Context, name: str) -> bool:
        command = self.get_command(ctx, name)
        return command is None or command.hidden


class GroupedCommands(Group):
    """A click group whose help lists its commands by audience."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands of each group with their whole summaries, then the group's example."""
        names = [n for n in self.list_commands(ctx) if not self._hidden(ctx, n)]
        for title, members, example in GROUPS:
            chosen = [n for n in names if (n in members if members else n not in OPERATOR_COMMANDS)]
            rows = self._rows(ctx, chosen)
            if not rows:
                continue
            with formatter.section(title):
                formatter.write_dl(rows)
                formatter.write_paragraph()
                formatter.write_text(f"Example: {example}")
