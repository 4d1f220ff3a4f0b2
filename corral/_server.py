"""Building gRPC servers the same way everywhere: health, reflection, interceptors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from corral._grpc_errors import ErrorInterceptor, MessageCheck
from corral._interceptors import Interceptor
from corral.errors import Unavailable

Registration = tuple[Callable[[Any, grpc.Server], None], Any, str]
"""(add_XServicer_to_server, servicer, full service name)."""

CONTAINMENT_HEALTH = "corral.containment"
"""Health service name that is SERVING only while every worker isolation layer applies.

A runner reports its own layers; an orchestrator reports its runners'. Probes and operators ask
for it by name (``grpc_health_probe -service corral.containment``); the plain health check
("" and the API's own name) stays about whether the server answers at all."""


MIN_PING_INTERVAL_MS = 4000
"""The shortest interval between a client's keepalive pings on a call that sends no data that
a server accepts (gRPC's default, 5 minutes, would make it close the connection)."""


def build_server(
    registrations: Sequence[Registration],
    *,
    max_workers: int = 64,
    interceptors: Sequence[Interceptor] = (),
    max_message_bytes: int = 64 << 20,
) -> tuple[grpc.Server, health.HealthServicer]:
    """A server with the given services, health checking and reflection on.

    The error interceptor runs outermost, so typed errors raised by other interceptors (such as
    authentication) become statuses too; the check for undecodable requests runs innermost, so
    that a caller without a key learns nothing more than that.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        interceptors=[ErrorInterceptor(), *interceptors, MessageCheck()],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            # A port in use is an error, never a port shared with another process.
            ("grpc.so_reuseport", 0),
            # Clients ping during long calls (the orchestrator its runners): accept that.
            ("grpc.http2.min_ping_interval_without_data_ms", int(MIN_PING_INTERVAL_MS)),
        ],
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [health.SERVICE_NAME, reflection.SERVICE_NAME]
    for add, servicer, name in registrations:
        add(servicer, server)
        names.append(name)
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(names, server)
    return server, health_servicer


def bind(
    server: grpc.Server, address: str, credentials: grpc.ServerCredentials | None = None
) -> int:
    """Listens on ``address`` (``host:port``), with TLS when given ``credentials``; returns the
    port bound. (Whether plaintext may listen there is checked at start: ``corral._tls``.)

    Raises:
        Unavailable: ``address_in_use`` when the address cannot be bound (taken by another
            process, or not an address of this machine).
    """
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:
        port = 0
    if not port:
        raise Unavailable(
            f"cannot listen on {address}: the port is in use or the address is not this "
            "machine's; stop the other process or choose another port",
            code="address_in_use",
            retryable=False,
        )
    return port


def report_containment(health_servicer: health.HealthServicer, missing: Mapping[str, str]) -> None:
    """Sets ``CONTAINMENT_HEALTH`` to SERVING when no isolation layer is ``missing``."""
    status = (
        health_pb2.HealthCheckResponse.NOT_SERVING
        if missing
        else health_pb2.HealthCheckResponse.SERVING
    )
    health_servicer.set(CONTAINMENT_HEALTH, status)
