"""``corral health``: ask a server's standard gRPC health service, for probes and operators."""

from __future__ import annotations

import sys

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral._server import CONTAINMENT_HEALTH
from corral._settings import ClientSettings, address
from corral.cli._output import checked


@click.command()
@click.option(
    "--server",
    callback=checked(address),
    help="Server address [CORRAL_SERVER, default 127.0.0.1:7700].",
)
@click.option(
    "--service",
    default="",
    help=f"Service to ask about: '' for the server itself, {CONTAINMENT_HEALTH!r} for whether "
    "every worker isolation layer applies, or a gRPC service name.",
)
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds to wait.")
def health(server: str | None, service: str, timeout: float) -> None:
    """Print a server's health status; exit 0 when SERVING, 1 otherwise.

    Works against an orchestrator or a runner. The container image's health check asks for
    'corral.containment', which is NOT_SERVING while some runner's workers lack a layer.
    """
    address = server or ClientSettings().server
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        except grpc.RpcError as exc:
            status = exc.code().name if isinstance(exc, grpc.Call) else "UNAVAILABLE"
    click.echo(status)
    sys.exit(0 if status == "SERVING" else 1)
