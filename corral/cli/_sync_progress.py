"""``corral trigger sync`` on a terminal: the sync's progress drawn as it goes, then its end.

The sync is started as ``--async`` would start it, and its run is read every
``POLL_SECONDS``: the records it saved so far and the requests it made (``Run.progress``) are
drawn on one line of standard error, rewritten in place. When the run ends the line is cleared
and the command answers as a waiting ``TriggerSync`` does: the run id, or the run's error. As
when it waits, Ctrl-C or the end of the client's deadline cancels the run (``CancelRun``).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from corral._error_shapes import from_proto
from corral.cli._api_client import Client
from corral.errors import RunFailure
from corral.v1 import orchestrator_pb2 as pb

POLL_SECONDS = 0.25
"""How often the running sync is read."""
ENDED = frozenset({pb.RUN_STATE_SUCCEEDED, pb.RUN_STATE_FAILED})


def sync_with_progress(client: Client, request: pb.TriggerSyncRequest) -> str:
    """Starts the sync and draws its progress until it ends; its run id.

    Raises:
        RunFailure: the run's error (its ``run_id`` in the details), as a waiting
            ``TriggerSync`` raises it; ``execution_timeout`` when the client's deadline
            passes first (the run is cancelled).
    """
    setattr(request, "async", True)
    run_id = str(client.call("TriggerSync", request).run_id)
    deadline = time.monotonic() + client.timeout
    drawn = 0
    try:
        while (run := client.call("GetRun", pb.GetRunRequest(run_id=run_id))).state not in ENDED:
            if time.monotonic() >= deadline:
                client.call("CancelRun", pb.CancelRunRequest(run_id=run_id))
                raise RunFailure(
                    "execution_timeout",
                    "the caller's deadline passed before the run ended",
                    details={"run_id": run_id},
                )
            drawn = _draw(progress_line(run), drawn)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        drawn = _draw("", drawn)
        client.call("CancelRun", pb.CancelRunRequest(run_id=run_id))
        click.echo(f"cancelled: run {run_id}", err=True)
        sys.exit(130)
    finally:
        _draw("", drawn)
    if run.state == pb.RUN_STATE_FAILED:
        raise RunFailure.from_value(from_proto(run.error), details={"run_id": run_id})
    return run_id


def progress_line(run: Any) -> str:
    """What a run in progress has done: ``"syncing: 1,200 records saved (1,100 added, 100
    updated, 0 deleted), 12 requests"``."""
    if run.state == pb.RUN_STATE_QUEUED:
        return "waiting for a slot to run"
    p = run.progress
    saved = p.records_added + p.records_updated + p.records_deleted
    return (
        f"syncing: {saved:,} records saved ({p.records_added:,} added, "
        f"{p.records_updated:,} updated, {p.records_deleted:,} deleted), "
        f"{p.requests:,} requests"
    )


def _draw(line: str, drawn: int) -> int:
    """Rewrites the progress line in place (``""`` clears it); how long the line now is."""
    if line or drawn:
        click.echo("\r" + line.ljust(drawn) + ("" if line else "\r"), err=True, nl=False)
    return len(line)
