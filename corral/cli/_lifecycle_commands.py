"""Client commands for what runs without a trigger: sync schedules and webhooks."""

from __future__ import annotations

import click

from corral.cli._api_client import Client
from corral.cli._client_options import json_arg, with_client
from corral.cli._help import Group
from corral.cli._output import emit
from corral.cli._tables import SCHEDULES
from corral.errors import InvalidRequest
from corral.v1 import orchestrator_pb2 as pb


@click.group(cls=Group)
def sync() -> None:
    """Start or pause a sync's schedule for a connection."""


@sync.command("start")
@click.argument("name")
@click.option("--connection", "connection_id", required=True, help="The connection id.")
@click.option("--variant", default="", help="The sync variant (default: base).")
@click.option(
    "--frequency",
    default="",
    help="This connection's own frequency for the sync ('every 5 minutes'); kept across deploys.",
)
@click.option("--clear-frequency", is_flag=True, help="Run at the sync's own frequency again.")
@with_client
def sync_start(
    client: Client,
    compact: bool,
    name: str,
    connection_id: str,
    variant: str,
    frequency: str,
    clear_frequency: bool,
) -> None:
    """Start sync NAME's schedule for a connection: it runs now, then at its frequency.

    --frequency gives this connection a frequency of its own for the sync (other connections
    keep the sync's); --clear-frequency returns it to the sync's.
    """
    if frequency and clear_frequency:
        raise click.UsageError("give --frequency or --clear-frequency, not both")
    request = pb.SyncScheduleRequest(
        sync_name=name,
        connection_id=connection_id,
        variant=variant,
        frequency=frequency,
        clear_frequency=clear_frequency,
    )
    emit(client.call("StartSync", request), compact)


@sync.command("pause")
@click.argument("name")
@click.option("--connection", "connection_id", required=True, help="The connection id.")
@click.option("--variant", default="", help="The sync variant (default: base).")
@with_client
def sync_pause(client: Client, compact: bool, name: str, connection_id: str, variant: str) -> None:
    """Pause sync NAME's schedule for a connection (a run in progress finishes)."""
    request = pb.SyncScheduleRequest(sync_name=name, connection_id=connection_id, variant=variant)
    emit(client.call("PauseSync", request), compact)


@click.command()
@click.option("--connection", "connection_id", default="", help="Only this connection's.")
@with_client
def schedules(client: Client, compact: bool, connection_id: str) -> None:
    """List sync schedules: state, frequency, next run, last run."""
    request = pb.ListSyncSchedulesRequest(connection_id=connection_id)
    emit(client.call("ListSyncSchedules", request), compact, SCHEDULES)


@click.command()
@click.argument("integration")
@click.option(
    "--type", "event_type", default="", help="The webhook's type (matched to subscriptions)."
)
@click.option("--payload", required=True, help="The webhook's body as JSON.")
@click.option(
    "--connection", "connection_id", default="", help="Only this connection (default: all)."
)
@with_client
def webhook(
    client: Client,
    compact: bool,
    integration: str,
    event_type: str,
    payload: str,
    connection_id: str,
) -> None:
    """Deliver a provider webhook to INTEGRATION's subscribed syncs; prints the run ids."""
    if not payload:
        raise InvalidRequest("--payload is empty; expected JSON", code="invalid_json")
    request = pb.DeliverWebhookRequest(
        integration=integration,
        connection_id=connection_id,
        event_type=event_type,
        payload_json=json_arg(payload, "--payload"),
    )
    emit(client.call("DeliverWebhook", request), compact)


lifecycle_commands = [sync, schedules, webhook]
