"""An orchestrator that gives up on a run tells the runner to kill it."""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
import pytest
from typing_extensions import override

from corral.errors import RunFailure
from corral.v1 import runner_pb2, runner_pb2_grpc
from orchestrator.runs._runner_client import RunnerChannels


class _SlowRunner(runner_pb2_grpc.RunnerServicer):
    """Holds every run until cancelled, and records the cancels it gets."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.released = threading.Event()

    @override
    def Run(
        self, request: runner_pb2.RunRequest, context: grpc.ServicerContext
    ) -> runner_pb2.RunResponse:
        self.released.wait(10)
        return runner_pb2.RunResponse(ok=True, output_json="null")

    @override
    def Cancel(
        self, request: runner_pb2.CancelRequest, context: grpc.ServicerContext
    ) -> runner_pb2.CancelResponse:
        self.cancelled.append(request.run_id)
        self.released.set()
        return runner_pb2.CancelResponse(cancelled=True)


def test_a_run_past_its_time_is_cancelled_on_the_runner() -> None:
    runner = _SlowRunner()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    runner_pb2_grpc.add_RunnerServicer_to_server(runner, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channels = RunnerChannels([f"127.0.0.1:{port}"])
    try:
        with pytest.raises(RunFailure) as caught:
            channels.run(runner_pb2.RunRequest(run_id="late-run"), timeout=0.5)
        assert caught.value.code == "execution_timeout"
        assert runner.cancelled == ["late-run"]
    finally:
        channels.close()
        runner.released.set()
        server.stop(None)
