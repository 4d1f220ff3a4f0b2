"""``corral runner``: the runner host's command, importing nothing heavy.

``corral runner`` (and ``python -m corral runner``, as ``corral serve`` starts its runners) runs
this command alone (``corral.cli.main``), without the rest of the CLI: the runner host process
then holds only what it serves with (docs/runtime.md, "The runner host's memory"). ``corral
--help`` lists it with the others.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Sequence

import click

from corral._logging import level_name
from corral._plain_settings import SettingsInvalid
from corral._runner_settings import RunnerSettings
from corral.cli._inputs import check_files, check_writable
from corral.cli._output import fail
from corral.errors import CorralError, InvalidRequest

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
"""The context of every ``corral`` command (the group's, and this command's when run alone)."""


def _log_level(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return level_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--host", help="Address to listen on [CORRAL_RUNNER_HOST].")
@click.option("--port", type=int, help="Port to listen on, 0 for any [CORRAL_RUNNER_PORT].")
@click.option("--callbacks", help="The orchestrator's callback address [CORRAL_RUNNER_CALLBACKS].")
@click.option(
    "--orchestrator",
    help="Join the fleet of the orchestrator at this callback address; the join secret is read"
    " from the file CORRAL_RUNNER_JOIN_SECRET_FILE names [CORRAL_RUNNER_ORCHESTRATOR].",
)
@click.option(
    "--advertise",
    help="Where orchestrators reach this runner, host:port (default: --host and the bound"
    " port) [CORRAL_RUNNER_ADVERTISE].",
)
@click.option(
    "--port-file", type=click.Path(path_type=pathlib.Path), help="Write the bound port here."
)
@click.option("--log-format", type=click.Choice(["auto", "json", "console"]), default="auto")
@click.option(
    "--log-level",
    default="info",
    callback=_log_level,
    help="Lowest level logged: debug, info, warn, error or off (any case) [default info].",
)
@click.option(
    "--parent-pid",
    type=int,
    help="Die with this process, the runner's parent (corral serve passes its own pid).",
)
@click.option(
    "--metrics-address",
    help="host:port of the Prometheus endpoint [CORRAL_RUNNER_METRICS_ADDRESS, default off].",
)
@click.option(
    "--tls-ca",
    help="PEM CA: the Runner API and the callback channel are mutual TLS, with certificates"
    " it signed [CORRAL_RUNNER_TLS_CA].",
)
@click.option("--tls-cert", help="PEM certificate of this runner [CORRAL_RUNNER_TLS_CERT].")
@click.option("--tls-key", help="PEM private key of --tls-cert [CORRAL_RUNNER_TLS_KEY].")
def runner(
    host: str | None,
    port: int | None,
    callbacks: str | None,
    orchestrator: str | None,
    advertise: str | None,
    port_file: pathlib.Path | None,
    log_format: str,
    log_level: str,
    parent_pid: int | None,
    metrics_address: str | None,
    tls_ca: str | None,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Start a runner host alone (for other machines): a warm parent and the Runner API.

    With --orchestrator it joins that orchestrator's fleet (heartbeats; SIGTERM drains it:
    its runs finish, it takes no new ones); with --callbacks alone, an orchestrator started
    with CORRAL_RUNNER_ADDRESS uses it.

    Plaintext is served on loopback only: listening elsewhere needs --tls-ca, --tls-cert and
    --tls-key (the orchestrator then needs CORRAL_TLS_CA and its client certificate).
    """
    given = {
        "host": host,
        "port": port,
        "callbacks": callbacks,
        "orchestrator": orchestrator,
        "advertise": advertise,
        "metrics_address": metrics_address,
        "tls_ca": tls_ca,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    if "CORRAL_RUNNER_JOIN_SECRET" in os.environ:
        raise click.UsageError(
            "CORRAL_RUNNER_JOIN_SECRET is not read: a secret in the environment would be copied"
            " into every worker's memory. Put it in a file only the runner's user can read and"
            " set CORRAL_RUNNER_JOIN_SECRET_FILE."
        )
    try:
        settings = RunnerSettings(**overrides)
        _check_files(settings, port_file)
    except SettingsInvalid as err:
        fail(err.invalid_request(), compact=True)
    except InvalidRequest as err:
        fail(err, compact=True)
    if not settings.callbacks and not settings.orchestrator:
        raise click.UsageError(
            "--orchestrator (join its fleet) or --callbacks (the orchestrator's callback"
            " address) is required"
        )
    from runner import run_runner  # noqa: PLC0415 - the host, after the checks

    try:
        run_runner(settings, port_file, log_format, parent_pid, log_level, own_process=True)
    except CorralError as err:  # its address in use: one clear line, no traceback
        click.echo(f"corral runner: {err.code}: {err.message}", err=True)
        sys.exit(1)


def _check_files(settings: RunnerSettings, port_file: pathlib.Path | None) -> None:
    """Refuses, before the host starts, a TLS file that is not a regular file (a FIFO would
    hang its reading) and a --port-file that cannot be written.

    Raises:
        InvalidRequest: ``invalid_file``, naming the option.
    """
    check_files(
        {
            "CORRAL_RUNNER_TLS_CA (--tls-ca)": settings.tls_ca,
            "CORRAL_RUNNER_TLS_CERT (--tls-cert)": settings.tls_cert,
            "CORRAL_RUNNER_TLS_KEY (--tls-key)": settings.tls_key,
            "CORRAL_RUNNER_JOIN_SECRET_FILE": settings.join_secret_file,
        }
    )
    if port_file is not None:
        check_writable(port_file, "--port-file")


def main_alone(args: Sequence[str]) -> None:
    """Runs ``corral runner`` with ``args`` (the words after ``runner``), as ``corral`` would."""
    runner.main(list(args), prog_name="corral runner", standalone_mode=True)
