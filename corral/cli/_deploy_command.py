"""`corral deploy`: an integration folder's functions, compiled, described and stored."""

from __future__ import annotations

import pathlib

import click

from corral import _json
from corral.cli._api_client import Client
from corral.cli._client_options import with_client
from corral.cli._deploy_plan import DeployPlan, current_functions, schedules_of, syncs_of
from corral.cli._inputs import read_json, read_sources
from corral.cli._output import confirm, emit
from corral.errors import InvalidRequest
from corral.v1 import orchestrator_pb2 as pb


def read_folder(folder: pathlib.Path) -> dict[str, str]:
    """The .py files of an integration folder (not recursive).

    Raises:
        InvalidRequest: ``invalid_deploy`` (not a folder), ``invalid_file`` (a file that cannot
            be read as UTF-8 text).
    """
    if not folder.is_dir():
        raise InvalidRequest(f"{folder} is not a folder", code="invalid_deploy")
    return read_sources(folder)


def read_legacy_config(path: pathlib.Path | None) -> dict[str, str]:
    """``--legacy-config``: a JSON object of legacy script file name -> object of its
    configuration, as the request carries it (each configuration as JSON text).

    Raises:
        InvalidRequest: ``invalid_file`` or ``invalid_json``, naming the file and the entry.
    """
    if path is None:
        return {}
    what = f"--legacy-config {path}"
    legacy = read_json(path, what="--legacy-config", shape="object")
    wrong = [name for name, config in legacy.items() if not isinstance(config, dict)]
    if wrong:
        raise InvalidRequest(
            f"{what}: the configuration of {wrong[0]!r} must be a JSON object (kind, frequency,"
            " ...)",
            code="invalid_json",
        )
    return {name: _json.dumps(config) for name, config in legacy.items()}


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
    request = pb.DeployRequest(
        integration=integration or folder.resolve().name,
        files=read_folder(folder),
        legacy_config_json=read_legacy_config(legacy_config),
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
