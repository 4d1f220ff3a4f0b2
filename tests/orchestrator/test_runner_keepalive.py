"""The orchestrator pings its runners during a run (``KEEPALIVE_SECONDS``), and every corral
server accepts pings that often (``MIN_PING_INTERVAL_MS``): a long, quiet run is never cut by
the server's ping policy (with gRPC's default, a server hangs up after a few pings, "too many
pings"). Both intervals are scaled down here, keeping their ratio, so the test takes seconds.
"""

from __future__ import annotations

import time

import grpc
import pytest

from corral import _server
from corral.v1 import runner_pb2, runner_pb2_grpc
from orchestrator.runs import _runner_client
from orchestrator.runs._runner_client import RunnerChannels

SCALE = 0.1


class QuietRunner(runner_pb2_grpc.RunnerServicer):
    """Answers a run after ``quiet`` seconds, sending nothing meanwhile."""

    def __init__(self, quiet: float) -> None:
        self.quiet = quiet

    def Run(  # noqa: N802 - the RPC's name
        self, request: runner_pb2.RunRequest, context: grpc.ServicerContext
    ) -> runner_pb2.RunResponse:
        time.sleep(self.quiet)
        return runner_pb2.RunResponse(ok=True, output_json='"quiet"')

    def Cancel(  # noqa: N802 - the RPC's name
        self, request: runner_pb2.CancelRequest, context: grpc.ServicerContext
    ) -> runner_pb2.CancelResponse:
        return runner_pb2.CancelResponse(cancelled=False)

    def Status(  # noqa: N802 - the RPC's name
        self, request: runner_pb2.RunnerStatusRequest, context: grpc.ServicerContext
    ) -> runner_pb2.RunnerStatusResponse:
        return runner_pb2.RunnerStatusResponse()


def test_a_long_quiet_run_outlives_the_keepalive_pings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _server.MIN_PING_INTERVAL_MS < _runner_client.KEEPALIVE_SECONDS * 1000
    keepalive = _runner_client.KEEPALIVE_SECONDS * SCALE
    monkeypatch.setattr(_runner_client, "KEEPALIVE_SECONDS", keepalive)
    monkeypatch.setattr(_server, "MIN_PING_INTERVAL_MS", _server.MIN_PING_INTERVAL_MS * SCALE)
    quiet = 10 * keepalive  # gRPC's default policy hangs up after about five pings
    server, _ = _server.build_server(
        [(runner_pb2_grpc.add_RunnerServicer_to_server, QuietRunner(quiet), "corral.v1.Runner")]
    )
    port = _server.bind(server, "127.0.0.1:0")
    server.start()
    channels = RunnerChannels([f"127.0.0.1:{port}"])
    try:
        started = time.monotonic()
        response = channels.run(runner_pb2.RunRequest(run_id="r1"), timeout=60)
        assert time.monotonic() - started >= quiet
        assert (response.ok, response.output_json) == (True, '"quiet"')
    finally:
        channels.close()
        server.stop(grace=None).wait()
