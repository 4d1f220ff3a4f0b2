"""Client commands: deploy, integrations, connections, trigger, runs, logs, records, runners."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from corral import _settings
from corral._settings import address
from corral.cli._api_client import Client, read_ca
from corral.cli._deploy_plan import DeployPlan, current_functions, schedules_of, syncs_of
from corral.cli._dotenv_trust import client_settings
from corral.cli._follow import follow_logs
from corral.cli._help import Group
from corral.cli._output import checked, confirm, emit, on_terminal, reports_errors
from corral.cli._pages import pages, rows
from corral.cli._plain import plain
from corral.cli._run_ids import find_run
from corral.cli._suggest import nearest_name
from corral.cli._sync_progress import sync_with_progress
from corral.cli._tables import CONNECTIONS, INTEGRATIONS, LOGS, RECORDS, RUNNERS, RUNS, VARIABLES
from corral.errors import CorralError, InvalidRequest, NotFound, Unavailable
from corral.v1 import orchestrator_pb2 as pb

F = TypeVar("F", bound=Callable[..., Any])


def with_client(func: F) -> F:
    """Adds --server, --secret-key, --tls-ca and --json, and passes a connected Client."""

    @click.option(
        "--server",
        callback=checked(address),
        help="Orchestrator address [CORRAL_SERVER, default 127.0.0.1:7700].",
    )
    @click.option(
        "--secret-key",
        callback=checked(_settings.secret_key),
        help="The environment's secret key [CORRAL_SECRET_KEY].",
    )
    @click.option(
        "--tls-ca",
        help="PEM CA certificate: connect over TLS, trusting the servers it signed"
        " [CORRAL_TLS_CA; default plaintext].",
    )
    @click.option(
        "--json",
        "compact",
        is_flag=True,
        help="Print JSON on one line (for scripts; a terminal gets a table for lists).",
    )
    @reports_errors
    @wraps(func)
    def wrapper(
        *args: Any,
        server: str | None,
        secret_key: str | None,
        tls_ca: str | None,
        compact: bool,
        **kwargs: Any,
    ) -> Any:
        settings = client_settings(
            key_given=bool(secret_key), server_given=bool(server), ca_given=bool(tls_ca)
        )
        key = secret_key or settings.secret_key.get_secret_value()
        if not key:
            raise click.UsageError("a secret key is needed: --secret-key or CORRAL_SECRET_KEY")
        ca = read_ca(tls_ca or settings.tls_ca)
        where = server or settings.server
        with Client(where, key, tls_ca=ca) as client:
            try:
                return func(client, compact, *args, **kwargs)
            except CorralError as err:
                raise with_hint(err, where, client) from None

    return wrapper  # type: ignore[return-value]


KEY_SOURCES = (
    "keys come from `corral env create NAME` (printed once) or `corral env rotate-key NAME`;"
    " give one with --secret-key or CORRAL_SECRET_KEY (a .env file in the current folder"
    " counts)"
)


def with_hint(err: CorralError, server: str, client: Client) -> CorralError:
    """The error with what to do next, for the mistakes everyone makes: no server there, a key
    the server does not know, a function, connection or integration name mistyped."""
    if err.code == "rpc_unavailable":
        return Unavailable(
            f"cannot reach the server at {server}: is `corral serve` running at {server}?"
            f" ({err.message})",
            code="server_unreachable",
            retryable=True,
        )
    if err.code in {"invalid_secret_key", "missing_secret_key"}:
        return type(err)(f"{err.message}: {KEY_SOURCES}", code=err.code, details=err.details)
    nearest = nearest_name(err, client)
    if nearest is not None:
        hinted = f"{err.message} (did you mean {nearest!r}?)"
        return type(err)(hinted, code=err.code, details={**err.details, "did_you_mean": nearest})
    return err


def _json_arg(text: str | None, what: str) -> str:
    if not text:
        return ""
    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from None
    return text


def read_folder(folder: pathlib.Path) -> dict[str, str]:
    """The .py files of an integration folder (not recursive)."""
    if not folder.is_dir():
        raise InvalidRequest(f"{folder} is not a folder", code="invalid_deploy")
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=pathlib.Path))
@click.option("--integration", help="Integration key (default: the folder's name).")
@click.option(
    "--legacy-config",
    type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
    help="JSON file: legacy script file name -> {kind, frequency, ...}.",
)
@click.option(
    "--function",
    "only",
    multiple=True,
    help="Deploy only this function (repeatable); the integration's others stay as deployed.",
)
@click.option("--yes", "-y", is_flag=True, help="Remove functions without asking (for scripts).")
@with_client
def deploy(
    client: Client,
    compact: bool,
    folder: pathlib.Path,
    integration: str | None,
    legacy_config: pathlib.Path | None,
    only: tuple[str, ...],
    yes: bool,
) -> None:
    """Deploy the functions of one integration FOLDER (its .py files) to the environment.

    Every file is compiled under the sandbox policy first; on an error (reported with file and
    line) nothing is deployed. It says what changes (functions added, changed and removed, and
    the sync schedules that stop) and asks before removing anything (--yes for scripts).
    """
    legacy = json.loads(legacy_config.read_text()) if legacy_config else {}
    request = pb.DeployRequest(
        integration=integration or folder.resolve().name,
        files=read_folder(folder),
        legacy_config_json={name: json.dumps(config) for name, config in legacy.items()},
        only=list(only),
    )
    current = current_functions(client, request.integration)
    # With --yes functions may go at once: their schedules are read while they still exist.
    stopped = schedules_of(client, request.integration, syncs_of(current)) if yes else []
    request.refuse_removals = not yes
    try:
        deployed = client.call("Deploy", request)  # described once, stored if nothing goes
    except InvalidRequest as exc:
        if exc.code != "deploy_removes_functions":
            raise
        removed = [str(name) for name in (exc.details or {}).get("removed", [])]
        stopped = schedules_of(client, request.integration, syncs_of(current, removed))
        confirm(DeployPlan.question(request.integration, removed, stopped))
        request.allow_removing[:] = removed  # what the person said yes to, and nothing more
        deployed = client.call("Deploy", request)
    plan = DeployPlan.between(request.integration, current, deployed.functions, stopped)
    emit(plan.summary(deployed), compact, plan.table())


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
    default="",
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
    auth_mode: str,
    auth_config: str | None,
) -> None:
    """Create or update the integration UNIQUE_KEY."""
    request = pb.CreateIntegrationRequest(
        unique_key=unique_key,
        provider=provider or "",
        base_url=base_url,
        auth_mode=auth_mode,
        auth_config_json=_json_arg(auth_config, "--auth-config"),
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
        credentials_json=_json_arg(creds, "--credentials"),
        base_url=base_url,
        metadata_json=_json_arg(metadata, "--metadata"),
        connection_config_json=_json_arg(connection_config, "--config"),
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
        input_json=_json_arg(input_json, "--input"),
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
@click.option("--limit", type=int, default=20, show_default=True)
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
@click.option("--limit", type=int, default=100, show_default=True)
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


client_commands = [
    deploy,
    integration,
    connection,
    trigger,
    runs,
    logs,
    records,
    variables,
    runners,
]
