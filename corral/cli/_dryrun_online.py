"""``corral dryrun FILE --connection ID``: through a running orchestrator, against the real API.

Nothing is stored: records, deletions, metadata and checkpoint changes stay in the run. Log
lines are printed as they come; ``--save-responses F.test.json`` writes what the API answered
as a fixture that ``corral dryrun --fixture`` and ``corral test`` replay.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from corral._error_shapes import from_proto, to_json
from corral.cli._api_client import Client, read_ca
from corral.cli._dotenv_trust import client_settings
from corral.cli._inputs import read_sources, write_text
from corral.cli._recorder import fixture_of
from corral.errors import CorralError, InvalidRequest
from corral.v1 import orchestrator_pb2 as pb


def online_dryrun(
    client: Client,
    path: pathlib.Path,
    connection_id: str,
    *,
    input_value: Any = None,
    metadata: Any = None,
    checkpoint: Any = None,
    variant: str = "base",
    save_responses: pathlib.Path | None = None,
    force_save: bool = False,
    on_log: Callable[[pb.LogLine], None] = lambda line: None,
) -> dict[str, Any]:
    """Runs the function file at ``path`` through the server; returns the printed result.

    ``save_responses`` is written only when the run succeeded (a failed run's answers make a
    fixture of a failure), or with ``force_save``."""
    files = read_sources(path.parent)
    request = pb.DryRunRequest(
        connection_id=connection_id, files=files, entry=path.name,
        input_json=json.dumps(input_value) if input_value is not None else "",
        metadata_json=json.dumps(metadata) if metadata is not None else "",
        checkpoint_json=json.dumps(checkpoint) if checkpoint is not None else "",
        variant=variant, record_responses=save_responses is not None,
    )  # fmt: skip
    logs: list[dict[str, Any]] = []
    exchanges: list[pb.RecordedExchange] = []
    final = pb.DryRunResult()
    for event in client.stream("DryRun", request):
        kind = event.WhichOneof("event")
        if kind == "log":
            on_log(event.log)
            logs.append({"level": event.log.level, "message": event.log.message,
                         "meta": json.loads(event.log.meta_json or "[]")})  # fmt: skip
        elif kind == "exchange":
            exchanges.append(event.exchange)
        elif kind == "result":
            final = event.result
    result = _result_json(final, logs)
    if save_responses is not None and not (result["ok"] or force_save):
        click.echo(
            f"the run failed: nothing was written to {save_responses} (--force writes it anyway)",
            err=True,
        )
    elif save_responses is not None:
        start_metadata = metadata
        fixture = fixture_of(exchanges, result, input_value=input_value, metadata=start_metadata)
        text = json.dumps(fixture, indent=2, ensure_ascii=False) + "\n"
        try:
            write_text(save_responses, text, what="--save-responses")
        except InvalidRequest as err:
            raise FixtureNotSaved(err, result) from None
    return result


class FixtureNotSaved(InvalidRequest):
    """A dry run ended, but the fixture of its responses could not be written; the run's
    result is kept (``result``), to be printed all the same."""

    def __init__(self, err: InvalidRequest, result: dict[str, Any]) -> None:
        super().__init__(err.message, code=err.code, details=err.details)
        self.result = result


def _result_json(final: pb.DryRunResult, logs: list[dict[str, Any]]) -> dict[str, Any]:
    error = None if final.ok else to_json(from_proto(final.error))
    return {
        "ok": final.ok,
        "output": json.loads(final.output_json) if final.output_json else None,
        "records": json.loads(final.records_json or "{}"),
        "deleted": json.loads(final.deleted_json or "{}"),
        "logs": logs,
        "error": error,
    }


@dataclass(frozen=True)
class OnlineTarget:
    """Where an online dry run goes: a connection on an orchestrator, and what to save."""

    connection_id: str
    server: str | None = None
    secret_key: str | None = None
    save_responses: pathlib.Path | None = None
    force_save: bool = False


def _print_log(line: pb.LogLine) -> None:
    click.echo(f"[{line.level}] {line.message}", err=True)


def run_online(target: OnlineTarget, path: pathlib.Path, **options: Any) -> dict[str, Any]:
    """``corral dryrun --connection``: the result, or the server's error as a failed result."""
    settings = client_settings(
        key_given=bool(target.secret_key), server_given=bool(target.server), ca_given=False
    )
    key = target.secret_key or settings.secret_key.get_secret_value()
    if not key:
        raise InvalidRequest("a secret key is needed: --secret-key or CORRAL_SECRET_KEY")
    try:
        ca = read_ca(settings.tls_ca)
        with Client(target.server or settings.server, key, tls_ca=ca) as client:
            return online_dryrun(
                client,
                path,
                target.connection_id,
                save_responses=target.save_responses,
                force_save=target.force_save,
                on_log=_print_log,
                **options,
            )
    except CorralError as err:
        if isinstance(err, InvalidRequest):
            raise
        error = to_json(err.value, form="compact")  # the details as payload
        return {
            "ok": False,
            "output": None,
            "records": {},
            "deleted": {},
            "logs": [],
            "error": error,
        }
