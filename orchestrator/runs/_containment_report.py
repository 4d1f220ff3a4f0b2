"""What the orchestrator tells about its runners' isolation layers: a log line and health."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import grpc
import structlog
from grpc_health.v1 import health

from corral import _grpc_errors
from corral._server import report_containment
from corral.v1 import runner_pb2

_log = structlog.get_logger("corral.orchestrator")


def missing_layers(statuses: Iterable[runner_pb2.RunnerStatusResponse]) -> dict[str, str]:
    """Every layer some runner lacks, as ``"runner N: layer" -> reason``."""
    return {
        f"runner {index}: {layer}": reason
        for index, status in enumerate(statuses)
        for layer, reason in sorted(status.layers_missing.items())
    }


def report_runner_containment(
    status: Callable[[], Sequence[runner_pb2.RunnerStatusResponse]],
    servicers: Iterable[health.HealthServicer],
) -> dict[str, str]:
    """Asks every runner for its layers; warns and sets ``corral.containment`` health from them.

    Args:
        status: a callable returning every runner's ``RunnerStatusResponse``.
        servicers: the health servicers of the orchestrator's servers.

    A runner that cannot be asked counts as lacking its layers: an operator should not read
    "contained" from a runner nobody heard from.
    """
    try:
        missing = missing_layers(status())
    except grpc.RpcError as exc:
        code = exc.code().name if isinstance(exc, grpc.Call) else "unknown"
        refused = _grpc_errors.tls_refused(exc)
        if refused is not None:  # a runner with a certificate the CA did not sign...
            _log.error("runner refused: TLS handshake failed", code="tls_refused", error=refused)
        missing = {"runners": f"status unavailable ({code})"}
    if missing:
        _log.warning("runner workers lack isolation layers", layers_missing=missing)
    for servicer in servicers:
        report_containment(servicer, missing)
    return missing
