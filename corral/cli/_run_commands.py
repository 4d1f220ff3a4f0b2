"""Client commands for runs: trigger an action or a sync, list, show and cancel runs, read a
run's logs and a sync's records."""

from __future__ import annotations

import json
from typing import Any

import click

from corral.cli._api_client import Client
from corral.cli._client_options import json_arg, with_client
from corral.cli._follow import follow_logs
from corral.cli._help import Group
from corral.cli._output import emit, on_terminal
from corral.cli._pages import pages, rows
from corral.cli._plain import plain
from corral.cli._run_ids import find_run
from corral.cli._sync_progress import sync_with_progress
from corral.cli._tables import LOGS, RECORDS, RUNS
from corral.v1 import orchestrator_pb2 as pb

LIMIT = click.IntRange(0, 2**31 - 1)
"""A listing's --limit: what the request's int32 holds, never negative."""


@click.group(cls=Group)
def trigger() -> None:
    """Run a function now."""


@trigger.command("action")
@click.argument("name")
@click.option("--connection", "connection_id", required=True, help="The connection id.")
@click.option("--input", "input_json", default="", help="The input as JSON.")
@click.option("--async", "run_async", is_flag=True, help="Return the run id at once.")
@click.option(
    "--idempotency-key",
    default="",
    help="A retry with the same key gets the first run's result instead of running again.",
)
@with_client
def trigger_action(
    client: Client,
    compact: bool,
    name: str,
    connection_id: str,
    input_json: str,
    run_async: bool,
    idempotency_key: str,
) -> None:
    """Run action NAME for a connection and print its output as JSON.

    A failure prints {"error_type", "payload", "message", "run_id"} on standard error and exits
    1. With --idempotency-key, running the same command again after a lost answer prints the
    first run's result (waiting for it if it still runs) instead of running the action twice.
    """
    request = pb.TriggerActionRequest(
        action_name=name,
        connection_id=connection_id,
        input_json=json_arg(input_json, "--input"),
        idempotency_key=idempotency_key,
    )
    setattr(request, "async", run_async)
    response = client.call("TriggerAction", request)
    emit({"run_id": response.run_id} if run_async else json.loads(response.output_json), compact)


@trigger.command("sync")
@click.argument("name")
@click.option("--connection", "connection_id", required=True, help="The connection id.")
@click.option("--variant", default="", help="The sync variant (default: base).")
@click.option("--reset", is_flag=True, help="Clear the checkpoint first.")
@click.option(
    "--empty-records",
    is_flag=True,
    help="With --reset: also delete the connection's records of the sync's models first.",
)
@click.option("--async", "run_async", is_flag=True, help="Return the run id at once.")
@with_client
def trigger_sync(
    client: Client,
    compact: bool,
    name: str,
    connection_id: str,
    variant: str,
    reset: bool,
    empty_records: bool,
    run_async: bool,
) -> None:
    """Run sync NAME for a connection now.

    --reset clears its checkpoint first, so it fetches everything again; --reset
    --empty-records also deletes the records it stored for the connection, so they are
    stored anew. On a terminal (without --json) it shows the records saved and the
    requests made so far while the sync runs.
    """
    request = pb.TriggerSyncRequest(
        sync_name=name,
        connection_id=connection_id,
        variant=variant,
        reset=reset,
        empty_records=empty_records,
    )
    if not run_async and not compact and on_terminal():  # the progress, drawn as it goes
        emit({"run_id": sync_with_progress(client, request)}, compact)
        return
    setattr(request, "async", run_async)
    emit({"run_id": client.call("TriggerSync", request).run_id}, compact)


@click.command()
@click.argument("words", nargs=-1, metavar="[RUN | cancel RUN]")
@click.option("--connection", "connection_id", default="", help="Only this connection's runs.")
@click.option("--function", "function_name", default="", help="Only this function's runs.")
@click.option("--limit", type=LIMIT, default=20, show_default=True)
@with_client
def runs(
    client: Client,
    compact: bool,
    words: tuple[str, ...],
    connection_id: str,
    function_name: str,
    limit: int,
) -> None:
    """List runs, newest first; show the run RUN; or cancel it (`runs cancel RUN`). A unique
    start of a run id is enough."""
    if words[:1] == ("cancel",):
        if len(words) != 2:
            raise click.UsageError("expected: corral runs cancel RUN")
        run = find_run(client, words[1])
        answer = client.call("CancelRun", pb.CancelRunRequest(run_id=run.run_id))
        emit({"cancelled": answer.cancelled, "run": plain(answer.run)}, compact)
        return
    if len(words) > 1:
        raise click.UsageError("expected one run id (or: corral runs cancel RUN)")
    if words:
        emit({"run": plain(find_run(client, words[0]))}, compact)
        return
    request = pb.ListRunsRequest(
        connection_id=connection_id, function_name=function_name, limit=limit
    )
    found = rows(client, "ListRuns", request, "runs", limit)
    emit({"runs": [plain(r) for r in found]}, compact, RUNS)


@click.command()
@click.argument("run_id")
@click.option(
    "--follow", "-f", is_flag=True, help="Print new lines as they come, until the run ends."
)
@with_client
def logs(client: Client, compact: bool, run_id: str, follow: bool) -> None:
    """Print a run's state (with ``logs_dropped``) and all its log lines (RUN_ID: a unique start
    of the id is enough). With --follow, lines print as the run writes them, one per line (JSON
    lines off a terminal), then the run's final state; exit 1 when it failed."""
    run = find_run(client, run_id)
    if follow:
        follow_logs(client, run, compact)
        return
    lines = rows(client, "GetRunLogs", pb.GetRunLogsRequest(run_id=run.run_id), "lines")
    emit({"run": plain(run), "logs": [plain(line) for line in lines]}, compact, LOGS)


@click.command()
@click.option("--connection", "connection_id", required=True, help="The connection id.")
@click.option("--model", required=True, help="The model name.")
@click.option("--variant", default="", help="The sync variant (default: base).")
@click.option("--cursor", default="", help="Continue after this cursor.")
@click.option("--modified-after", default="", help="RFC 3339 timestamp.")
@click.option("--limit", type=LIMIT, default=100, show_default=True)
@click.option("--filter", "filter_", default="", help="added,updated,deleted")
@with_client
def records(
    client: Client,
    compact: bool,
    connection_id: str,
    model: str,
    variant: str,
    cursor: str,
    modified_after: str,
    limit: int,
    filter_: str,
) -> None:
    """List a connection's records of one model, with _nango_metadata."""
    request = pb.ListRecordsRequest(
        connection_id=connection_id,
        model=model,
        variant=variant,
        cursor=cursor,
        modified_after=modified_after,
        limit=limit,
        filter=filter_,
    )
    found: list[Any] = []
    next_cursor = ""
    # Pages stop at a size too: follow them until ``limit`` records (or the end).
    for response in pages(client, "ListRecords", request):
        found.extend(json.loads(r.json) for r in response.records)
        next_cursor = response.next_cursor
        if len(found) >= limit:
            break
        request.limit = limit - len(found)
    emit({"records": found, "next_cursor": next_cursor}, compact, RECORDS)
