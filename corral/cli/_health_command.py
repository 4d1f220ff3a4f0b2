"""``corral health``: ask a server's standard gRPC health service, for probes and operators."""

from __future__ import annotations

import sys

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral._server import CONTAINMENT_HEALTH
from corral._settings import address
from corral._tls import Setting, load, load_ca
from corral.cli._api_client import TLS_CA
from corral.cli._dotenv_trust import keyless_settings
from corral.cli._inputs import check_files
from corral.cli._output import checked, reports_errors


def _channel(server: str, ca: str, cert: str | None, key: str | None) -> grpc.Channel:
    """Plaintext without a CA; TLS with one, presenting ``cert`` when given (a runner's
    Runner API and an orchestrator's callback API ask for a client certificate)."""
    if not ca:
        return grpc.insecure_channel(server)
    check_files({TLS_CA: ca, "--tls-cert": cert, "--tls-key": key})
    ca_setting = Setting(ca, TLS_CA)
    if not (cert or key):
        return grpc.secure_channel(server, grpc.ssl_channel_credentials(load_ca(ca_setting)))
    tls = load(Setting(cert or "", "--tls-cert"), Setting(key or "", "--tls-key"), ca_setting)
    return grpc.secure_channel(server, tls.channel_credentials())


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
@click.option(
    "--tls-ca",
    help="PEM CA certificate: connect over TLS, trusting the servers it signed"
    " [CORRAL_TLS_CA; default plaintext].",
)
@click.option("--tls-cert", help="PEM client certificate to present (a runner asks for one).")
@click.option("--tls-key", help="PEM private key of --tls-cert.")
@reports_errors
def health(
    server: str | None,
    service: str,
    timeout: float,
    tls_ca: str | None,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Print a server's health status; exit 0 when SERVING, 1 otherwise.

    Works against an orchestrator or a runner. The container image's health check asks for
    'corral.containment', which is NOT_SERVING while some runner's workers lack a layer.
    """
    settings = keyless_settings()
    with _channel(
        server or settings.server, tls_ca or settings.tls_ca, tls_cert, tls_key
    ) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        except grpc.RpcError as exc:
            status = exc.code().name if isinstance(exc, grpc.Call) else "UNAVAILABLE"
    click.echo(status)
    sys.exit(0 if status == "SERVING" else 1)
