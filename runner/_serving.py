"""The runner host's gRPC side: its Runner service, its callbacks channel, its fleet membership
and metrics, until it is told to stop (``runner._main.run_runner`` starts it once the warm
parent is forked)."""

from __future__ import annotations

import os
import pathlib
import signal
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import grpc
import structlog

from corral._budgets import CALLBACK_MESSAGE_BYTES
from corral._memory import freeze_heap
from corral._process import wait_for_stop
from corral._runner_settings import RunnerSettings
from corral._server import bind, build_server, report_containment
from corral.errors import CorralError
from corral.v1 import runner_pb2_grpc
from runner._fleet_member import FleetMember
from runner._main import EXIT_JOIN_REFUSED, EXIT_WARM_PARENT_LOST, read_join_secret
from runner._offer_certificate import offer_certificate
from runner._service import VERSION, RunnerService
from runner._transport import runner_tls
from runner.host._host import RunnerHost

if TYPE_CHECKING:
    from corral._metrics import MetricsEndpoint
    from corral._tls import Tls
    from runner._metrics import RunnerMetrics

_log = structlog.get_logger("corral.runner")


def serve(
    settings: RunnerSettings,
    host: RunnerHost,
    layers: Mapping[str, Any],
    port_file: pathlib.Path | None,
    *,
    own_process: bool,
    stop: threading.Event,
    lost: threading.Event,
) -> None:
    """Serves the Runner API with ``host`` until ``stop`` is set (SIGTERM, SIGINT, the warm
    parent ``lost``, the fleet refusing this runner); then drains, stops and exits with the
    status that says why."""
    tls, secret = _credentials(settings, host)
    channel = _callback_channel(settings, tls)
    draining = threading.Event()
    metrics = _metrics(settings.metrics_address, host)
    service = RunnerService(
        host, channel, draining=draining, ended=None if metrics is None else metrics.run_ended
    )
    server, health = build_server(
        [(runner_pb2_grpc.add_RunnerServicer_to_server, service, "corral.v1.Runner")],
        max_workers=settings.max_concurrent_runs + 8,
    )
    port = bind(
        server,
        f"{settings.host}:{settings.port}",
        None if tls is None else tls.server_credentials(),
    )
    endpoint = None if metrics is None else _endpoint(metrics, settings.metrics_address)
    report_containment(health, layers["layers_missing"])
    server.start()
    _write_port(port_file, port)
    refused = threading.Event()

    def join_refused() -> None:
        refused.set()
        stop.set()

    member = _join(settings, secret, port, host, channel=channel, refused=join_refused)
    _log.info(
        "runner started",
        port=port,
        pid=os.getpid(),
        callbacks=settings.callbacks or settings.orchestrator,
        runner_id=member.runner_id if member else None,
        metrics_port=endpoint.port if endpoint is not None else None,
        transport="plaintext" if tls is None else "mtls",
        **layers,
    )
    warn_missing_layers(layers["layers_missing"])
    if own_process:
        freeze_heap()  # started: its start-up objects live as long as the process
    _wait_for_signal(stop)
    _log.info("runner stopping")
    if member is not None:
        _leave(member, draining, host, 0.0 if refused.is_set() else settings.drain_seconds)
    health.enter_graceful_shutdown()
    server.stop(grace=5).wait()
    host.close()
    channel.close()
    if endpoint is not None:
        endpoint.close()
    if lost.is_set():
        raise SystemExit(EXIT_WARM_PARENT_LOST)
    if refused.is_set():
        raise SystemExit(EXIT_JOIN_REFUSED)


def _credentials(settings: RunnerSettings, host: RunnerHost) -> tuple[Tls | None, str]:
    """The runner's TLS credentials and its join secret, read only now that the warm parent is
    forked (workers fork from it): no worker's memory holds the private key or the secret.

    Raises:
        InvalidRequest: ``invalid_tls``, ``plaintext_refused``, ``invalid_setting``; the warm
            parent is stopped first.
    """
    try:
        tls = runner_tls(settings)
        secret = read_join_secret(settings.join_secret_file) if settings.orchestrator else ""
    except CorralError:
        host.close()
        raise
    return tls, secret


def _metrics(address: str, host: RunnerHost) -> RunnerMetrics | None:
    """The runner's metrics when their endpoint is on (``address``); None when it is off: a
    runner without metrics loads no ``prometheus_client``."""
    if not address:
        return None
    from runner._metrics import RunnerMetrics  # noqa: PLC0415

    return RunnerMetrics(host)


def _endpoint(metrics: RunnerMetrics, address: str) -> MetricsEndpoint | None:
    """Serves ``metrics`` on ``address``."""
    from runner._metrics import open_endpoint  # noqa: PLC0415 - imported with RunnerMetrics

    return open_endpoint(metrics, address)


def _callback_channel(settings: RunnerSettings, tls: Tls | None) -> grpc.Channel:
    """The channel to the orchestrator's callback API (and the fleet's heartbeats). Proxied
    bodies and get_records_by_id answers can be large: as large as the callback server
    accepts."""
    options = [
        ("grpc.max_receive_message_length", CALLBACK_MESSAGE_BYTES),
        ("grpc.max_send_message_length", CALLBACK_MESSAGE_BYTES),
    ]
    target = settings.callbacks or settings.orchestrator
    if tls is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, tls.channel_credentials(), options=options)


def _write_port(port_file: pathlib.Path | None, port: int) -> None:
    """Tells the bound port through ``port_file`` (written whole, at once)."""
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        os.replace(tmp, port_file)


def _join(
    settings: RunnerSettings,
    secret: str,
    port: int,
    host: RunnerHost,
    *,
    channel: grpc.Channel,
    refused: Callable[[], None],
) -> FleetMember | None:
    """Joins the fleet of ``settings.orchestrator`` (None: this runner is not in a fleet)."""
    if not settings.orchestrator:
        return None
    target = settings.callbacks or settings.orchestrator
    member = FleetMember(
        channel,
        secret,
        settings.advertise or f"{settings.host}:{port}",
        slots=settings.max_concurrent_runs,
        status=host.status,
        version=VERSION,
        on_refused=refused,
        offer=(
            (lambda: offer_certificate(target, settings.tls_cert, settings.tls_key))
            if settings.tls_cert
            else None
        ),
    )
    member.start()
    return member


def _wait_for_signal(stop: threading.Event) -> None:
    """Returns on SIGTERM or SIGINT (or when ``stop`` is set otherwise)."""
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    wait_for_stop(stop)


def _leave(
    member: FleetMember, draining: threading.Event, host: RunnerHost, seconds: float
) -> None:
    """Leaves the fleet: drains (up to ``seconds``), then stops the heartbeats."""
    if seconds:
        _drain(member, draining, host, seconds)
    member.stop()


def _drain(
    member: FleetMember, draining: threading.Event, host: RunnerHost, seconds: float
) -> None:
    """Takes no new run and waits up to ``seconds`` for the runs in progress to end."""
    draining.set()
    member.drain()
    deadline = time.monotonic() + seconds
    _log.info("runner draining", runs=host.status()["runs_in_progress"], drain_seconds=seconds)
    while host.status()["runs_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.1)


def warn_missing_layers(missing: Mapping[str, str]) -> None:
    """A warning naming every isolation layer this runner's workers go without, and why.

    Only the language and process layers are left for those workers; an operator who did not
    mean that sets ``CORRAL_RUNNER_STRICT_CONTAINMENT=true`` (the container image's default).
    """
    if missing:
        _log.warning(
            "runner workers lack isolation layers",
            layers_missing=dict(missing),
            hint="run as root with CAP_SYS_ADMIN (see docs/security.md), or set "
            "CORRAL_RUNNER_STRICT_CONTAINMENT=true to refuse to start without them",
        )
