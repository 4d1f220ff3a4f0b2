"""``corral dryrun``: run one function file offline, through the production runner and sandbox."""

from __future__ import annotations

import json
import pathlib
import sys
import uuid
from typing import Any

import click

from corral._cli_output import EXIT_FAILED, EXIT_USAGE, emit
from corral.errors import CorralError, InvalidRequest


def _json_option(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", code="invalid_json") from None


def dryrun_result(
    path: pathlib.Path,
    input_value: Any,
    metadata: Any,
    fixture_path: pathlib.Path | None,
    checkpoint: Any = None,
    variant: str = "base",
) -> dict[str, Any]:
    """Runs the function file at ``path`` offline; returns the result object that is printed."""
    from runner._containment import make_containment  # noqa: PLC0415 - the heavy imports
    from runner._fixtures import Fixture  # noqa: PLC0415
    from runner._host import Job, RunnerHost  # noqa: PLC0415
    from runner._offline import OfflineHandler  # noqa: PLC0415
    from runner._warm import warm  # noqa: PLC0415

    fixture = None
    if fixture_path is not None:
        fixture = Fixture(json.loads(fixture_path.read_text(encoding="utf-8")))
        if input_value is None:
            input_value = fixture.content.get("input")
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(path.parent.glob("*.py"))}
    handler = OfflineHandler(fixture, metadata if isinstance(metadata, dict) else None, checkpoint)
    contain, _ = make_containment(strict=False)
    host = RunnerHost(contain, warm, prewarm=0)
    try:
        job = Job(
            run_id="dryrun-" + uuid.uuid4().hex[:12],
            kind="",
            function_name=path.stem,
            entry=path.name,
            files=files,
            input=input_value,
            context={"variant": variant, "log_level": "debug"},
        )
        outcome = host.execute(job, handler)
    finally:
        host.close()
    return {
        "ok": outcome.ok,
        "output": outcome.output,
        "records": handler.records,
        "deleted": handler.deleted,
        "logs": handler.logs,
        "error": outcome.error,
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
@click.option("--json", "compact", is_flag=True, help="Print the result as one line of JSON.")
def dryrun(
    file: pathlib.Path,
    input_json: str | None,
    metadata_json: str | None,
    checkpoint_json: str | None,
    variant: str,
    fixture: pathlib.Path | None,
    compact: bool,
) -> None:
    """Run the function in FILE offline, through the same runner, worker and sandbox as production.

    No server and no connection: requests are answered from --fixture (recorded responses in the
    *.test.json format), or fail. Prints {"ok", "output", "records", "deleted", "logs", "error"};
    exits 0 when the function succeeded, 1 when it failed, 2 on a usage error.
    """
    try:
        if not file.is_file() or file.suffix != ".py":
            raise InvalidRequest(f"{file} is not a .py file", code="invalid_file")
        if fixture is not None and not fixture.is_file():
            raise InvalidRequest(f"fixture {fixture} does not exist", code="invalid_file")
        result = dryrun_result(
            file,
            _json_option(input_json, "--input"),
            _json_option(metadata_json, "--metadata"),
            fixture,
            _json_option(checkpoint_json, "--checkpoint"),
            variant,
        )
    except CorralError as err:
        click.echo(
            json.dumps({"ok": False, "error": {"type": err.code, "message": err.message}}), err=True
        )
        sys.exit(EXIT_USAGE)
    emit(result, compact)
    sys.exit(0 if result["ok"] else EXIT_FAILED)
