"""``corral certs``: a development CA and the certificates of an orchestrator and its runners."""

from __future__ import annotations

import pathlib

import click

from corral._certs import write_dev_certs
from corral.cli._output import emit, reports_errors


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=pathlib.Path))
@click.option(
    "--name",
    "names",
    multiple=True,
    help="Another host name or IP address the certificates are valid for (repeat for more);"
    " 127.0.0.1 and localhost always are.",
)
@reports_errors
def certs(folder: pathlib.Path, names: tuple[str, ...]) -> None:
    """Make a development CA and certificates in FOLDER (made 0700; keys written 0600).

    Writes ca.pem (the CA; ca-key.pem signs more), orchestrator.pem (the public API and the
    callback API), orchestrator-client.pem (what the orchestrator presents to runners) and
    runner.pem (a runner's, as server and as client), each with its -key.pem. Nothing is
    overwritten. Prints the settings that turn TLS on for corral serve, corral runner and the
    client commands. For development and tests: a production CA keeps its key elsewhere.
    """
    paths = {role: str(path.resolve()) for role, path in write_dev_certs(folder, names).items()}
    emit(
        {
            "files": paths,
            "serve": {
                "CORRAL_TLS_CERT": paths["orchestrator"],
                "CORRAL_TLS_KEY": paths["orchestrator_key"],
                "CORRAL_TLS_CA": paths["ca"],
                "CORRAL_TLS_CLIENT_CERT": paths["orchestrator_client"],
                "CORRAL_TLS_CLIENT_KEY": paths["orchestrator_client_key"],
                "CORRAL_RUNNER_TLS_CERT": paths["runner"],
                "CORRAL_RUNNER_TLS_KEY": paths["runner_key"],
            },
            "runner": {
                "CORRAL_RUNNER_TLS_CA": paths["ca"],
                "CORRAL_RUNNER_TLS_CERT": paths["runner"],
                "CORRAL_RUNNER_TLS_KEY": paths["runner_key"],
            },
            "client": {"CORRAL_TLS_CA": paths["ca"]},
        }
    )
