"""``corral dryrun``: run one function file offline, through the production runner and sandbox."""

from __future__ import annotations

import json
import pathlib
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from corral._budgets import Budgets
from corral._error_shapes import ErrorValue, to_json
from corral._providers import provider
from corral.cli._dryrun_online import OnlineTarget, run_online
from corral.cli._output import EXIT_FAILED, EXIT_USAGE, emit
from corral.errors import CorralError, InvalidRequest

if TYPE_CHECKING:
    from corral.testing import OfflineCallbacks
    from runner import Job, Outcome, RunContext, RunnerHost

FixtureSource = pathlib.Path | Mapping[str, Any] | None
"""A fixture file, its parsed content, or none."""


def _json_option(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from None


@contextmanager
def offline_host(prewarm: int = 0) -> Iterator[RunnerHost]:
    """A runner host for offline runs (the production worker and sandbox), closed on exit.

    Args:
        prewarm: workers kept forked ahead of demand; worth it for several runs in a row.
    """
    from runner import RunnerHost, make_containment, warm  # noqa: PLC0415 - the heavy imports

    contain, _ = make_containment(strict=False)
    host = RunnerHost(contain, warm, prewarm=prewarm)
    try:
        yield host
    finally:
        host.close()


def read_files(folder: pathlib.Path) -> dict[str, str]:
    """The ``.py`` files of an integration folder, by name (what a deploy would send)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}


def run_context(integration: str, variant: str = "base") -> RunContext:
    """The context of an offline run: the variant, debug logs, the provider's paging defaults.

    The provider is looked up by the integration's name (the folder's name, as the seeds' test
    mock does); an unknown provider has no defaults.
    """
    from runner import RunContext  # noqa: PLC0415 - the runner is imported on use

    known = provider(integration)
    defaults = dict(known.paginate) if known is not None else {}
    return RunContext(variant=variant, log_level="debug", paginate_defaults=defaults)


def _fixture(source: FixtureSource) -> Mapping[str, Any] | None:
    if isinstance(source, pathlib.Path):
        content = json.loads(source.read_text(encoding="utf-8"))
        if not isinstance(content, dict):
            raise InvalidRequest(f"fixture {source} is not a JSON object", code="invalid_fixture")
        return content
    return source


def dryrun_result(
    path: pathlib.Path,
    input_value: Any,
    metadata: Any,
    fixture_path: FixtureSource,
    checkpoint: Any = None,
    variant: str = "base",
    *,
    host: RunnerHost | None = None,
    integration: str | None = None,
    budgets: Budgets | None = None,
) -> dict[str, Any]:
    """Runs the function file at ``path`` offline; returns the result object that is printed.

    Args:
        path: the function's file; its folder's ``.py`` files are the integration's files.
        input_value: the action's input (None: the fixture's ``input``).
        metadata: the connection's metadata (None: the fixture's ``getMetadata``).
        fixture_path: recorded responses (a ``*.test.json`` file or its parsed content).
        checkpoint: the checkpoint the run starts from (None: a first run).
        variant: the sync variant.
        host: a runner host to run in (for many runs in a row); None: a host for this run.
        integration: the provider whose paging defaults apply (None: the folder's name).
        budgets: the run's budgets (None: the defaults of the ``budgets`` setting).

    Raises:
        InvalidRequest: a fixture file that is not a JSON object.
        ValueError: a fixture file that is not JSON.
    """
    from corral.testing import Fixture, OfflineCallbacks  # noqa: PLC0415 - the heavy imports

    content = _fixture(fixture_path)
    fixture = Fixture(content) if content is not None else None
    if input_value is None and content is not None:
        input_value = content.get("input")
    name = integration or path.resolve().parent.name
    job = _job(path, input_value, run_context(name, variant))
    handler = OfflineCallbacks(
        fixture,
        metadata if isinstance(metadata, dict) else None,
        checkpoint,
        budgets=budgets,
        variant=variant,
    )
    try:
        if host is not None:
            outcome = host.execute(job, handler)
        else:
            with offline_host() as own:
                outcome = own.execute(job, handler)
        return _result(outcome, handler)
    finally:
        handler.close()


def _job(path: pathlib.Path, input_value: Any, context: RunContext) -> Job:
    from runner import Job  # noqa: PLC0415

    return Job(
        run_id="dryrun-" + uuid.uuid4().hex[:12],
        kind="",
        function_name=path.stem,
        entry=path.name,
        files=read_files(path.parent),
        input=input_value,
        context=context,
    )


def _result(outcome: Outcome, handler: OfflineCallbacks) -> dict[str, Any]:
    # Past a per-run budget the run has failed, even when the function caught the error.
    failure = handler.failure
    error = outcome.error if failure is None else failure
    return {
        "ok": outcome.ok and failure is None,
        "output": outcome.output if failure is None else None,
        "records": handler.records,
        "deleted": handler.deleted,
        "logs": handler.logs,
        "logs_dropped": handler.logs_dropped,
        "error": error,
    }


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
@click.option("--server", help="With --connection: the orchestrator [CORRAL_SERVER].")
@click.option("--secret-key", help="With --connection: the environment's key [CORRAL_SECRET_KEY].")
@click.option(
    "--save-responses",
    type=click.Path(path_type=pathlib.Path),
    help="With --connection: write what the API answered as a *.test.json fixture.",
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
    compact: bool,
) -> None:
    """Run the function in FILE through the same runner, worker and sandbox as production.

    Offline (the default): no server and no connection; requests are answered from --fixture
    (recorded responses in the *.test.json format), or fail.

    With --connection: through a running orchestrator, against the connection's real API with
    its credentials injected, printing log lines on standard error as they come and storing
    nothing; --save-responses writes what the API answered as a fixture that replays offline.

    Prints {"ok", "output", "records", "deleted", "logs", "error"}; exits 0 when the function
    succeeded, 1 when it failed, 2 on a usage error.
    """
    try:
        if not file.is_file() or file.suffix != ".py":
            raise InvalidRequest(f"{file} is not a .py file", code="invalid_file")
        if fixture is not None and not fixture.is_file():
            raise InvalidRequest(f"fixture {fixture} does not exist", code="invalid_file")
        if connection_id is None and (server or secret_key or save_responses):
            raise InvalidRequest("--server, --secret-key and --save-responses need --connection")
        if connection_id is not None:
            if fixture is not None:
                raise InvalidRequest("give --connection or --fixture, not both")
            online = OnlineTarget(connection_id, server, secret_key, save_responses)
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
