"""``corral logs --follow``: a run's log lines as it writes them, until it ends."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from corral.cli._api_client import Client
from corral.cli._output import EXIT_FAILED, on_terminal
from corral.cli._plain import plain
from corral.v1 import orchestrator_pb2 as pb

POLL_SECONDS = 0.5
"""How often a running run's new lines are asked for."""
ENDED = {pb.RUN_STATE_SUCCEEDED, pb.RUN_STATE_FAILED}


def follow_logs(client: Client, run: Any, compact: bool) -> None:
    """Prints the run's lines from the first, then each new one, until the run has ended and
    every line is printed; then its final state. Exits 1 when the run failed."""
    cursor = ""
    while True:
        ended = run.state in ENDED  # read before the lines: none written after can be missed
        cursor = _print_new(client, run.run_id, cursor, compact)
        if ended:
            break
        time.sleep(POLL_SECONDS)
        run = client.call("GetRun", pb.GetRunRequest(run_id=run.run_id))
    final = plain(run)
    if on_terminal() and not compact:
        error = final["error"] or {}
        click.echo(f"-- run {final['run_id']} {final['state']} {error.get('type') or ''}".rstrip())
    else:
        click.echo(json.dumps({"run": final}, ensure_ascii=False))
    if run.state == pb.RUN_STATE_FAILED:
        sys.exit(EXIT_FAILED)


def _print_new(client: Client, run_id: str, cursor: str, compact: bool) -> str:
    """Prints the lines after ``cursor``; returns the cursor after the last one."""
    while True:
        page = client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_id, cursor=cursor))
        for line in page.lines:
            shown = plain(line)
            if on_terminal() and not compact:
                click.echo(f"{shown['timestamp']} {shown['level']:<5} {shown['message']}")
            else:
                click.echo(json.dumps(shown, ensure_ascii=False))
        cursor = page.tail_cursor or cursor
        if not page.next_cursor:
            return cursor
