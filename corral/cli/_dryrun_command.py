"""``corral dryrun``: run one function file offline, through the production runner and sandbox."""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

import click

from corral import _settings
from corral._error_shapes import ErrorValue, to_json
from corral._settings import address
from corral.cli._dryrun_online import FixtureNotSaved, OnlineTarget, run_online
from corral.cli._inputs import check_writable, json_option, read_json, read_sources
from corral.cli._output import EXIT_FAILED, EXIT_USAGE, checked, emit
from corral.cli._paths import python_target_problem
from corral.errors import CorralError, InvalidRequest
from corral.testing import dryrun_result


@click.command()
@click.argument("file", type=click.Path(path_type=pathlib.Path))
@click.option("--input", "input_json", help="The action's input as JSON.")
@click.option("--metadata", "metadata_json", help="The connection's metadata as a JSON object.")
@click.option(
    "--checkpoint", "checkpoint_json", help="The checkpoint to start from, as a JSON object."
)
@click.option("--variant", default="base", show_default=True, help="The sync variant.")
@click.option(
    "--fixture",
    type=click.Path(path_type=pathlib.Path),
    help="A *.test.json file of recorded responses.",
)
@click.option(
    "--provider",
    "provider_name",
    help="The provider whose pagination defaults apply (default: the folder's name).",
)
@click.option(
    "--connection",
    "connection_id",
    help="Run through the orchestrator against this connection's real API (stores nothing).",
)
@click.option(
    "--server",
    callback=checked(address),
    help="With --connection: the orchestrator [CORRAL_SERVER].",
)
@click.option(
    "--secret-key",
    callback=checked(_settings.secret_key),
    help="With --connection: the environment's key [CORRAL_SECRET_KEY].",
)
@click.option(
    "--save-responses",
    type=click.Path(path_type=pathlib.Path),
    help="With --connection: write what the API answered as a *.test.json fixture.",
)
@click.option(
    "--force",
    "force_save",
    is_flag=True,
    help="With --save-responses: write the fixture even when the run failed.",
)
@click.option("--json", "compact", is_flag=True, help="Print the result as one line of JSON.")
def dryrun(
    file: pathlib.Path,
    input_json: str | None,
    metadata_json: str | None,
    checkpoint_json: str | None,
    variant: str,
    fixture: pathlib.Path | None,
    provider_name: str | None,
    connection_id: str | None,
    server: str | None,
    secret_key: str | None,
    save_responses: pathlib.Path | None,
    force_save: bool,
    compact: bool,
) -> None:
    """Run the function in FILE through the same runner, worker and sandbox as production.

    Offline (the default): no server and no connection; requests are answered from --fixture
    (recorded responses in the *.test.json format), or fail.

    With --connection: through a running orchestrator, against the connection's real API with
    its credentials injected, printing log lines on standard error as they come and storing
    nothing; --save-responses writes what the API answered as a fixture that replays offline
    (only when the run succeeded, unless --force).

    Prints {"ok", "output", "records", "deleted", "logs", "error"}; exits 0 when the function
    succeeded, 1 when it failed, 2 on a usage error.
    """
    try:
        problem = python_target_problem(file, folders=False)
        if problem:
            raise InvalidRequest(problem, code="invalid_file", details={"file": str(file)})
        if connection_id is None and (server or secret_key or save_responses or force_save):
            raise InvalidRequest(
                "--server, --secret-key, --save-responses and --force need --connection"
            )
        options = _run_options(input_json, metadata_json, checkpoint_json)
        if connection_id is not None:
            if fixture is not None:
                raise InvalidRequest("give --connection or --fixture, not both")
            if save_responses is not None:  # refused now, not after the run
                check_writable(save_responses, "--save-responses")
            online = OnlineTarget(connection_id, server, secret_key, save_responses, force_save)
            result = run_online(online, file, **options, variant=variant)
        else:
            result = _offline(file, fixture, options, variant, provider_name)
    except FixtureNotSaved as err:  # the run's result is printed all the same
        emit(err.result, compact)
        _error_line(err.code, err.message)
        sys.exit(EXIT_FAILED)
    except CorralError as err:
        _error_line(err.code, err.message)
        sys.exit(EXIT_USAGE)
    emit(result, compact)
    sys.exit(0 if result["ok"] else EXIT_FAILED)


def _run_options(
    input_json: str | None, metadata_json: str | None, checkpoint_json: str | None
) -> dict[str, Any]:
    """The run's JSON options, read strictly; metadata and a checkpoint are objects."""
    return {
        "input_value": json_option(input_json, "--input"),
        "metadata": json_option(metadata_json, "--metadata", "object"),
        "checkpoint": json_option(checkpoint_json, "--checkpoint", "object"),
    }


def _offline(
    file: pathlib.Path,
    fixture: pathlib.Path | None,
    options: dict[str, Any],
    variant: str,
    provider_name: str | None,
) -> dict[str, Any]:
    """The offline run; every file it reads is read (and refused) here first."""
    read_sources(file.parent)
    content = None if fixture is None else read_json(fixture, what="fixture", shape="object")
    return dryrun_result(
        file,
        options["input_value"],
        options["metadata"],
        content,
        options["checkpoint"],
        variant,
        integration=provider_name,
    )


def _error_line(code: str, message: str) -> None:
    error = to_json(ErrorValue(code, message), form="brief")
    click.echo(json.dumps({"ok": False, "error": error}), err=True)
