"""The orchestrator reports its runners' isolation layers in a warning and in its health."""

from __future__ import annotations

import grpc
import structlog
from grpc_health.v1 import health, health_pb2

from corral.v1 import runner_pb2
from orchestrator.runs._containment_report import report_runner_containment

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _containment(servicer: health.HealthServicer) -> int:
    request = health_pb2.HealthCheckRequest(service="corral.containment")
    return servicer.Check(request, None).status  # type: ignore[arg-type]


def test_every_runner_contained_is_serving() -> None:
    servicer = health.HealthServicer()
    full = runner_pb2.RunnerStatusResponse(layers_applied=["seccomp", "netns"])
    with structlog.testing.capture_logs() as logs:
        assert report_runner_containment(lambda: [full, full], [servicer]) == {}
    assert _containment(servicer) == SERVING
    assert not [log for log in logs if log["log_level"] == "warning"]


def test_a_runner_lacking_a_layer_warns_and_is_not_serving() -> None:
    servicers = [health.HealthServicer(), health.HealthServicer()]
    full = runner_pb2.RunnerStatusResponse(layers_applied=["seccomp", "netns"])
    lacking = runner_pb2.RunnerStatusResponse(
        layers_applied=["seccomp"], layers_missing={"netns": "unshare: Operation not permitted"}
    )
    with structlog.testing.capture_logs() as logs:
        missing = report_runner_containment(lambda: [full, lacking], servicers)
    assert missing == {"runner 1: netns": "unshare: Operation not permitted"}
    assert [_containment(s) for s in servicers] == [NOT_SERVING, NOT_SERVING]
    (warning,) = [log for log in logs if log["log_level"] == "warning"]
    assert warning["layers_missing"] == missing


class _Unreachable(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


def test_a_runner_that_cannot_be_asked_counts_as_uncontained() -> None:
    servicer = health.HealthServicer()

    def unreachable() -> list[runner_pb2.RunnerStatusResponse]:
        raise _Unreachable

    assert report_runner_containment(unreachable, [servicer]) == {
        "runners": "status unavailable (UNAVAILABLE)"
    }
    assert _containment(servicer) == NOT_SERVING
