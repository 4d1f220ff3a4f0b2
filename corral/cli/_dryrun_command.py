"""``corral dryrun``: run one function file offline, through the production runner and sandbox."""

from __future__ import annotations

import json
import pathlib
import sys
from typing import TYPE_CHECKING, Any

import click

from corral import _settings
from corral._error_shapes import ErrorValue, to_json
from corral._settings import address
from corral.cli._dryrun_online import OnlineTarget, run_online
from corral.cli._output import EXIT_FAILED, EXIT_USAGE, checked, emit
from corral.cli._paths import python_target_problem
from corral.errors import CorralError, InvalidRequest
from corral.testing import dryrun_result

if TYPE_CHECKING:
    pass


def _json_option(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from None


@click.command()
@click.argument("file", type=click.Path(path_type=pathlib.Path))
@click.option("--input", "input_json", help="The action's input as JSON.")
@click.option("--metadata", "metadata_json", help="The connection's metadata as a JSON object.")
@click.option("--checkpoint", "checkpoint_json", help="The checkpoint to start from, as JSON.")
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
            raise InvalidRequest(problem, code="invalid_file")
        if fixture is not None and not fixture.is_file():
            raise InvalidRequest(f"fixture {fixture} does not exist", code="invalid_file")
        if connection_id is None and (server or secret_key or save_responses or force_save):
            raise InvalidRequest(
                "--server, --secret-key, --save-responses and --force need --connection"
            )
        if connection_id is not None:
            if fixture is not None:
                raise InvalidRequest("give --connection or --fixture, not both")
            online = OnlineTarget(connection_id, server, secret_key, save_responses, force_save)
            result = run_online(
                online,
                file,
                input_value=_json_option(input_json, "--input"),
                metadata=_json_option(metadata_json, "--metadata"),
                checkpoint=_json_option(checkpoint_json, "--checkpoint"),
                variant=variant,
            )
            emit(result, compact)
            sys.exit(0 if result["ok"] else EXIT_FAILED)
        result = dryrun_result(
            file,
            _json_option(input_json, "--input"),
            _json_option(metadata_json, "--metadata"),
            fixture,
            _json_option(checkpoint_json, "--checkpoint"),
            variant,
            integration=provider_name,
        )
    except ValueError as exc:
        _usage_error("invalid_fixture", f"fixture {fixture} is not valid JSON: {exc}")
    except CorralError as err:
        _usage_error(err.code, err.message)
    emit(result, compact)
    sys.exit(0 if result["ok"] else EXIT_FAILED)


def _usage_error(code: str, message: str) -> None:
    error = to_json(ErrorValue(code, message), form="brief")
    click.echo(json.dumps({"ok": False, "error": error}), err=True)
    sys.exit(EXIT_USAGE)
