"""``corral runner``: a runner host process (the warm parent first, then the gRPC server)."""

from __future__ import annotations

import os
import pathlib
import signal
import threading
from collections.abc import Mapping

import grpc
import structlog

from corral import _logging
from corral._budgets import CALLBACK_MESSAGE_BYTES
from corral._memory import bound_heap
from corral._process import die_with_parent, wait_for_stop
from corral._server import bind, build_server, check_listen_address, report_containment
from corral._settings import RunnerSettings
from corral.v1 import runner_pb2_grpc
from runner._service import RunnerService
from runner._transport import runner_tls
from runner.host._containment import make_containment
from runner.host._host import RunnerHost
from runner.host._warm import warm
from sandbox import ContainmentError

_log = structlog.get_logger("corral.runner")

EXIT_CONTAINMENT = 78
"""Exit status of a strict runner on a host that lacks an isolation layer (EX_CONFIG)."""
EXIT_WARM_PARENT_LOST = 75
"""Exit status of a runner whose warm parent died (EX_TEMPFAIL): ``serve`` starts it again."""


def run_runner(
    settings: RunnerSettings,
    port_file: pathlib.Path | None,
    log_format: str = "auto",
    parent_pid: int | None = None,
    log_level: str = "info",
) -> None:
    """Serves the Runner API until SIGTERM or SIGINT (or until ``parent_pid`` dies: SIGKILL)."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _logging.configure(log_format, log_level)
    check_listen_address(settings.host, settings.port, "CORRAL_RUNNER_HOST", "CORRAL_RUNNER_PORT")
    tls = runner_tls(settings)
    try:
        contain, layers = make_containment(settings.strict_containment)
    except ContainmentError as err:
        _log.error("runner refused to start", reason=err.message)
        raise SystemExit(EXIT_CONTAINMENT) from None
    bound_heap()  # large responses go back to the system when freed (corral._memory)
    stop = threading.Event()
    lost = threading.Event()

    def warm_parent_lost() -> None:
        _log.error("warm parent died; the runner stops so that it is started again")
        lost.set()
        stop.set()

    # The warm parent is forked before any gRPC object exists in this process.
    host = RunnerHost(contain, warm, settings.prewarm_workers, layers, on_lost=warm_parent_lost)
    # Proxied bodies and get_records_by_id answers can be large: as large as the callback
    # server accepts.
    options = [
        ("grpc.max_receive_message_length", CALLBACK_MESSAGE_BYTES),
        ("grpc.max_send_message_length", CALLBACK_MESSAGE_BYTES),
    ]
    channel = (
        grpc.insecure_channel(settings.callbacks, options=options)
        if tls is None
        else grpc.secure_channel(settings.callbacks, tls.channel_credentials(), options=options)
    )
    service = RunnerService(host, channel)
    server, health = build_server(
        [(runner_pb2_grpc.add_RunnerServicer_to_server, service, "corral.v1.Runner")],
        max_workers=settings.max_concurrent_runs + 8,
    )
    port = bind(
        server,
        f"{settings.host}:{settings.port}",
        None if tls is None else tls.server_credentials(),
    )
    report_containment(health, layers["layers_missing"])
    server.start()
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        os.replace(tmp, port_file)
    _log.info(
        "runner started",
        port=port,
        pid=os.getpid(),
        callbacks=settings.callbacks,
        transport="plaintext" if tls is None else "mtls",
        **layers,
    )
    warn_missing_layers(layers["layers_missing"])
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    wait_for_stop(stop)
    _log.info("runner stopping")
    health.enter_graceful_shutdown()
    server.stop(grace=5).wait()
    host.close()
    channel.close()
    if lost.is_set():
        raise SystemExit(EXIT_WARM_PARENT_LOST)


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
