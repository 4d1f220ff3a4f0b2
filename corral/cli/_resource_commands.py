"""Client commands for what an environment holds: integrations, connections, variables, and
the runner hosts runs are placed on."""

from __future__ import annotations

import json

import click

from corral.cli._api_client import Client
from corral.cli._client_options import json_arg, with_client
from corral.cli._help import Group
from corral.cli._output import confirm, emit
from corral.cli._pages import rows
from corral.cli._plain import plain
from corral.cli._tables import CONNECTIONS, INTEGRATIONS, RUNNERS, VARIABLES
from corral.errors import NotFound
from corral.v1 import orchestrator_pb2 as pb


@click.group(cls=Group)
def integration() -> None:
    """Manage integrations (API providers configured in the environment)."""


@integration.command("create")
@click.argument("unique_key")
@click.option("--provider", help="Provider name (default: the key).")
@click.option("--base-url", default="", help="The API's base URL.")
@click.option(
    "--auth-mode",
    type=click.Choice(
        ["NONE", "API_KEY", "BASIC", "BEARER", "OAUTH2", "OAUTH2_CC", "OAUTH1", "TBA", "APP"]
    ),
    help="How credentials are injected (default: the provider catalogue's, else NONE).",
)
@click.option(
    "--auth-config",
    help='JSON: e.g. {"header": "X-Api-Key", "format": "{api_key}"}; the client_id and'
    " client_secret of OAUTH2_CC (with token_url, scopes), OAUTH1 and TBA (the consumer);"
    " APP: app_id, private_key (docs/auth.md).",
)
@with_client
def integration_create(
    client: Client,
    compact: bool,
    unique_key: str,
    provider: str | None,
    base_url: str,
    auth_mode: str | None,
    auth_config: str | None,
) -> None:
    """Create or update the integration UNIQUE_KEY."""
    request = pb.CreateIntegrationRequest(
        unique_key=unique_key,
        provider=provider or "",
        base_url=base_url,
        auth_mode=auth_mode or "",
        auth_config_json=json_arg(auth_config, "--auth-config", "object"),
    )
    emit(client.call("CreateIntegration", request), compact)


@integration.command("list")
@with_client
def integration_list(client: Client, compact: bool) -> None:
    """List the environment's integrations."""
    found = client.call("ListIntegrations", pb.ListIntegrationsRequest()).integrations
    emit({"integrations": [plain(i) for i in found]}, compact, INTEGRATIONS)


@integration.command("get")
@click.argument("unique_key")
@with_client
def integration_get(client: Client, compact: bool, unique_key: str) -> None:
    """Show the integration UNIQUE_KEY (its auth configuration's secrets are never shown)."""
    found = client.call("ListIntegrations", pb.ListIntegrationsRequest()).integrations
    for item in found:
        if item.unique_key == unique_key:
            emit(item, compact)
            return
    raise NotFound(f"no integration {unique_key!r}", code="unknown_integration")


@integration.command("delete")
@click.argument("unique_key")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (for scripts).")
@with_client
def integration_delete(client: Client, compact: bool, unique_key: str, yes: bool) -> None:
    """Delete the integration UNIQUE_KEY with its connections, functions, schedules and
    records (asks first on a terminal; --yes for scripts). Each connection goes as
    `connection delete` does: its pre-connection-deletion functions run first."""
    if not yes:
        listing = pb.ListConnectionsRequest(integration=unique_key)
        count = len(rows(client, "ListConnections", listing, "connections"))
        confirm(
            f"Delete integration {unique_key!r} with its {count} connection(s), its deployed"
            " functions and every record its syncs stored?"
        )
    request = pb.DeleteIntegrationRequest(unique_key=unique_key)
    emit(client.call("DeleteIntegration", request), compact)


@click.group(cls=Group)
def connection() -> None:
    """Manage connections (end customers' accounts on an integration)."""


@connection.command("create")
@click.option("--integration", required=True, help="The integration key.")
@click.option("--id", "connection_id", default="", help="Connection id (generated if absent).")
@click.option(
    "--api-key", help='Shortcut for --credentials \'{"type": "API_KEY", "api_key": ...}\'.'
)
@click.option(
    "--credentials",
    help="Credentials as JSON, with a type (API_KEY, BASIC, BEARER, OAUTH2, OAUTH2_CC, OAUTH1,"
    " TBA, APP; fields in docs/auth.md).",
)
@click.option("--base-url", default="", help="Base URL for this connection only.")
@click.option("--metadata", help="Metadata as a JSON object.")
@click.option("--config", "connection_config", help="connection_config as a JSON object.")
@with_client
def connection_create(
    client: Client,
    compact: bool,
    integration: str,
    connection_id: str,
    api_key: str | None,
    credentials: str | None,
    base_url: str,
    metadata: str | None,
    connection_config: str | None,
) -> None:
    """Create a connection with its credentials."""
    if api_key and credentials:
        raise click.UsageError("give --api-key or --credentials, not both")
    creds = json.dumps({"type": "API_KEY", "api_key": api_key}) if api_key else credentials
    request = pb.CreateConnectionRequest(
        integration=integration,
        connection_id=connection_id,
        credentials_json=json_arg(creds, "--credentials", "object"),
        base_url=base_url,
        metadata_json=json_arg(metadata, "--metadata", "object"),
        connection_config_json=json_arg(connection_config, "--config", "object"),
    )
    emit(client.call("CreateConnection", request), compact)


@connection.command("list")
@click.option("--integration", default="", help="Only this integration's connections.")
@with_client
def connection_list(client: Client, compact: bool, integration: str) -> None:
    """List connections (every page)."""
    request = pb.ListConnectionsRequest(integration=integration)
    found = rows(client, "ListConnections", request, "connections")
    emit({"connections": [plain(c) for c in found]}, compact, CONNECTIONS)


@connection.command("delete")
@click.argument("connection_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (for scripts).")
@with_client
def connection_delete(client: Client, compact: bool, connection_id: str, yes: bool) -> None:
    """Delete a connection with its records (asks first on a terminal; --yes for scripts)."""
    if not yes:
        found = client.call("GetConnection", pb.GetConnectionRequest(connection_id=connection_id))
        confirm(
            f"Delete connection {found.connection_id!r} of {found.integration!r}, with every"
            " record its syncs stored?"
        )
    emit(
        client.call("DeleteConnection", pb.DeleteConnectionRequest(connection_id=connection_id)),
        compact,
    )


@click.command()
@click.argument("assignments", nargs=-1, metavar="[list | NAME=VALUE...]")
@click.option("--clear", is_flag=True, help="Remove every variable of the environment.")
@with_client
def variables(client: Client, compact: bool, assignments: tuple[str, ...], clear: bool) -> None:
    """List the environment's variables (no argument, or `list`), or set them: NAME=VALUE pairs
    replace them all (functions read them with get_environment_variables).

    Only names are listed: values are secrets. Without an argument nothing is changed; removing
    every variable takes --clear.
    """
    if clear and assignments:
        raise click.UsageError("--clear takes no NAME=VALUE")
    if not clear and assignments in {(), ("list",)}:
        listed = client.call("ListEnvironmentVariables", pb.ListEnvironmentVariablesRequest())
        emit({"variables": list(listed.names)}, compact, VARIABLES)
        return
    pairs = []
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"expected NAME=VALUE, got {assignment!r}")
        pairs.append(pb.EnvironmentVariable(name=name.strip(), value=value))
    client.call("SetEnvironmentVariables", pb.SetEnvironmentVariablesRequest(variables=pairs))
    emit({"variables": sorted(p.name for p in pairs)}, compact, VARIABLES)


@click.command()
@with_client
def runners(client: Client, compact: bool) -> None:
    """List the runner hosts runs are placed on: address, state (ready, draining, lost,
    refused, checking), isolation layers, slots, runs in progress and last heartbeat
    (operator environments)."""
    found = client.call("ListRunners", pb.ListRunnersRequest()).runners
    emit({"runners": [plain(r) for r in found]}, compact, RUNNERS)
