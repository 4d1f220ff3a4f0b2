"""The ``corral`` command: one program for operators and for function authors."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError

from corral._process import exit_past_stray_threads
from corral._settings import SETTINGS_PREFIXES, ServeSettings, setting_error
from corral.cli._api_commands import client_commands
from corral.cli._author_commands import author_commands
from corral.cli._certs_command import certs
from corral.cli._dryrun_command import dryrun
from corral.cli._health_command import health
from corral.cli._help import Group, GroupedCommands
from corral.cli._inputs import check_files
from corral.cli._lifecycle_commands import lifecycle_commands
from corral.cli._output import emit, fail, reports_errors
from corral.cli._runner_command import runner
from corral.cli._tables import ENVIRONMENTS
from corral.errors import CorralError

F = TypeVar("F", bound=Callable[..., Any])


@click.group(
    cls=GroupedCommands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option("0.1.0", prog_name="corral")
def cli() -> None:
    """corral: run integration functions (syncs, actions, on-event) in a sandbox, for many tenants.

    Operators run `corral serve`; function authors deploy, trigger and dry-run functions. The
    client commands read --server and --secret-key, or CORRAL_SERVER and CORRAL_SECRET_KEY.
    """


FILES = (
    "tls_cert",
    "tls_key",
    "tls_ca",
    "tls_client_cert",
    "tls_client_key",
    "runner_tls_cert",
    "runner_tls_key",
    "secrets_key_file",
)
"""The settings of serve that name files: refused when not regular files (a FIFO hangs a read)."""


@cli.command()
@click.option("--host", help="Address to listen on [CORRAL_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on, 0 for any [CORRAL_PORT, default 7700].")
@click.option(
    "--data-dir",
    type=click.Path(path_type=pathlib.Path),
    help="Where the store lives [CORRAL_DATA_DIR, default ./.corral].",
)
@click.option(
    "--database-url",
    help="PostgreSQL URL of a store shared by several orchestrators, instead of SQLite in the"
    " data dir [CORRAL_DATABASE_URL].",
)
@click.option(
    "--metrics-address",
    help="host:port of the Prometheus endpoint; local runners serve theirs on the next ports"
    " [CORRAL_METRICS_ADDRESS, default off].",
)
@click.option(
    "--tls-cert", help="PEM certificate of the public and callback APIs [CORRAL_TLS_CERT]."
)
@click.option("--tls-key", help="PEM private key of --tls-cert [CORRAL_TLS_KEY].")
@click.option(
    "--tls-ca",
    help="PEM CA: orchestrator-runner traffic is mutual TLS, with certificates it signed"
    " [CORRAL_TLS_CA].",
)
@click.option(
    "--tls-client-cert",
    help="PEM certificate presented to runners [CORRAL_TLS_CLIENT_CERT].",
)
@click.option(
    "--tls-client-key", help="PEM private key of --tls-client-cert [CORRAL_TLS_CLIENT_KEY]."
)
@click.option(
    "--runner-tls-cert", help="PEM certificate of the local runners [CORRAL_RUNNER_TLS_CERT]."
)
@click.option(
    "--runner-tls-key", help="PEM private key of --runner-tls-cert [CORRAL_RUNNER_TLS_KEY]."
)
def serve(
    host: str | None,
    port: int | None,
    data_dir: pathlib.Path | None,
    database_url: str | None,
    metrics_address: str | None,
    **tls: str | None,
) -> None:
    """Start the orchestrator with an embedded SQLite store and a local runner pool.

    On a new data directory it creates the environment `dev` and prints its secret key once.
    Stops cleanly on Ctrl-C or SIGTERM; in-flight runs get a grace period. Logs are JSON lines
    on standard error. Every option is also a CORRAL_* setting.

    Plaintext is served on loopback only: listening elsewhere needs --tls-cert and --tls-key
    (the public API) and --tls-ca (mutual TLS with runners, on the callback API). `corral certs`
    makes development certificates.
    """
    given = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "database_url": database_url,
        "metrics_address": metrics_address,
        **tls,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    from orchestrator import serve as run_serve  # noqa: PLC0415 - keeps client commands light

    settings = ServeSettings(**overrides)  # type: ignore[arg-type]
    try:
        check_files({f"CORRAL_{name.upper()}": getattr(settings, name) for name in FILES})
        run_serve(settings, own_process=True)
    except CorralError as err:  # a data dir or an address in use: one clear line, no traceback
        click.echo(f"corral serve: {err.code}: {err.message}", err=True)
        sys.exit(1)
    exit_past_stray_threads(0)  # stopped in order: no thread blocked upstream holds the exit


def store_options(func: F) -> F:
    """--data-dir and --database-url: where an admin command finds the store."""
    func = click.option(
        "--database-url",
        help="PostgreSQL URL of a store shared by several orchestrators, instead of SQLite in the"
        " data dir [CORRAL_DATABASE_URL].",
    )(func)
    return click.option(
        "--data-dir",
        type=click.Path(path_type=pathlib.Path),
        help="The store's directory [CORRAL_DATA_DIR, default ./.corral].",
    )(func)


@cli.group(cls=Group)
def env() -> None:
    """Manage environments (operators; works on the data directory, through the admin path)."""


@env.command("create")
@click.argument("name")
@store_options
@reports_errors
def env_create(name: str, data_dir: pathlib.Path | None, database_url: str | None) -> None:
    """Create environment NAME and print its secret key (shown only this once)."""
    from orchestrator import open_admin  # noqa: PLC0415

    where = _store(data_dir, database_url)
    with open_admin(where.data_dir, create=True, database_url=where.url) as admin:
        created = admin.create_environment(name)
    emit({"environment": created.name, "secret_key": created.secret_key})


@env.command("list")
@store_options
@click.option("--json", "compact", is_flag=True, help="Print JSON on one line.")
@reports_errors
def env_list(data_dir: pathlib.Path | None, database_url: str | None, compact: bool) -> None:
    """List the environments: name and when each was created."""
    from orchestrator import open_admin  # noqa: PLC0415

    where = _store(data_dir, database_url)
    with open_admin(where.data_dir, database_url=where.url) as admin:
        found = admin.list_environments()
    emit(
        {"environments": [{"name": name, "created_at": at} for name, at in found]},
        compact,
        ENVIRONMENTS,
    )


@env.command("rotate-key")
@click.argument("name")
@store_options
@reports_errors
def env_rotate_key(name: str, data_dir: pathlib.Path | None, database_url: str | None) -> None:
    """Give environment NAME a new secret key and print it (shown only this once); the old key
    is refused from now on, by every server of the store."""
    from orchestrator import open_admin  # noqa: PLC0415

    where = _store(data_dir, database_url)
    with open_admin(where.data_dir, database_url=where.url) as admin:
        rotated = admin.rotate_key(name)
    emit({"environment": rotated.name, "secret_key": rotated.secret_key})


@env.command("notification-secret")
@click.argument("name")
@store_options
@reports_errors
def env_notification_secret(
    name: str, data_dir: pathlib.Path | None, database_url: str | None
) -> None:
    """Give environment NAME a new secret for signing sync result notifications and print it
    (shown only this once); notifications are signed with it from now on."""
    from orchestrator import open_admin  # noqa: PLC0415

    where = _store(data_dir, database_url)
    with open_admin(where.data_dir, database_url=where.url) as admin:
        made = admin.notification_secret(name)
    emit({"environment": made.name, "notification_secret": made.secret_key})


@env.command("settings")
@click.argument("name")
@click.option(
    "--set", "patch", help='JSON merged into the settings, e.g. \'{"log_level": "warn"}\'.'
)
@store_options
@reports_errors
def env_settings(
    name: str, patch: str | None, data_dir: pathlib.Path | None, database_url: str | None
) -> None:
    """Show environment NAME's settings, or change them with --set.

    Settings: log_level (debug, info, warn, error, off), validation (true/false), and limits
    per kind of run (action, sync, on_event): wall_seconds, cpu_seconds, memory_bytes,
    max_output_bytes, max_run_output_bytes, max_open_files (defaults and ceilings in
    corral.limits; a value above the ceiling is refused as invalid_limits); budgets:
    log_lines_per_run, log_bytes_per_run, log_meta_bytes, metadata_bytes, record_bytes,
    records_per_run, record_bytes_per_run, response_bytes (the budgets in force, defaults
    included, are shown under "budgets"); concurrency: runs, sdk_calls, api_calls at once for the
    environment (in force under "concurrency"); retention_days: days finished runs and their logs
    are kept (0: forever; not set: the server's CORRAL_RUN_RETENTION_DAYS); notifications: url
    that gets each sync run's outcome, signed with the secret of `corral env
    notification-secret`. Changes apply to runs that start afterwards, and retention to the next
    hourly purge.
    """
    from corral import _json  # noqa: PLC0415
    from orchestrator import open_admin  # noqa: PLC0415

    changes = None if patch is None else _json.loads_object(patch, what="--set")
    where = _store(data_dir, database_url)
    with open_admin(where.data_dir, database_url=where.url) as admin:
        found = admin.environment_settings(name, changes)
    emit(
        {
            "environment": found.name,
            "settings": found.settings,
            "budgets": found.budgets,
            "concurrency": found.concurrency,
        }
    )


@dataclass(frozen=True)
class _Store:
    data_dir: pathlib.Path
    url: str


def _store(data_dir: pathlib.Path | None, database_url: str | None) -> _Store:
    """Where an admin command finds the store: the options, else the CORRAL_* settings."""
    overrides = {k: v for k, v in {"data_dir": data_dir, "database_url": database_url}.items() if v}
    settings = ServeSettings(**overrides)  # type: ignore[arg-type]
    return _Store(settings.data_dir, settings.database_url.get_secret_value())


for command in [*client_commands, *lifecycle_commands]:
    cli.add_command(command)
cli.add_command(runner)
cli.add_command(dryrun)
cli.add_command(health)
cli.add_command(certs)
for command in author_commands:
    cli.add_command(command)


def main() -> None:
    """Entry point of the console script: a setting that cannot be read is a clear error, one
    line of JSON on standard error (exit status 1)."""
    try:
        sys.exit(cli.main(prog_name="corral", standalone_mode=True))
    except SettingsError as err:
        fail(setting_error(err), compact=True)
    except ValidationError as err:
        if err.title not in SETTINGS_PREFIXES:
            raise  # not a setting's: the last resort of corral.cli.main reports it
        fail(setting_error(err, SETTINGS_PREFIXES[err.title]), compact=True)
