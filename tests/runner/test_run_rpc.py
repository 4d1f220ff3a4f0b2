"""The Run RPC: the worker dies with the call, and no error escapes unhandled."""

from __future__ import annotations

import json
import time
from concurrent import futures
from typing import Any

import grpc
import pytest

from corral.v1 import common_pb2, runner_pb2, runner_pb2_grpc
from runner._service import RunnerService
from runner.host._host import Job, Outcome, RunnerHost

LOOP = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    while True:\n"
    "        pass\n"
    "action = create_action(description='t', exec=run)\n"
)


def _serve(host: Any) -> tuple[grpc.Server, runner_pb2_grpc.RunnerStub, grpc.Channel]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    callbacks = grpc.insecure_channel("127.0.0.1:9")
    runner_pb2_grpc.add_RunnerServicer_to_server(RunnerService(host, callbacks), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return server, runner_pb2_grpc.RunnerStub(channel), channel


def _request(run_id: str, source: str, wall_seconds: float) -> runner_pb2.RunRequest:
    return runner_pb2.RunRequest(
        run_id=run_id,
        kind=common_pb2.FUNCTION_KIND_ACTION,
        function_name="f",
        source=common_pb2.FunctionSource(entry="f.py", files={"f.py": source}),
        input_json="{}",
        limits=common_pb2.RunLimits(wall_seconds=wall_seconds),
    )


def test_a_caller_that_gives_up_kills_the_worker(sdk_host: RunnerHost) -> None:
    server, stub, channel = _serve(sdk_host)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            stub.Run(_request("give-up", LOOP, wall_seconds=60), timeout=1.0)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        deadline = time.monotonic() + 10
        while sdk_host.status()["runs_in_progress"]:
            assert time.monotonic() < deadline, "the worker outlived the call"
            time.sleep(0.05)
    finally:
        channel.close()
        server.stop(None)


class _Broken:
    """A host whose execute fails as no host should."""

    def execute(self, job: Job, handler: object) -> Outcome:
        raise KeyError("a bug")

    def cancel(self, run_id: str) -> bool:
        return False


def test_an_unexpected_error_is_a_runner_error_result() -> None:
    server, stub, channel = _serve(_Broken())
    try:
        response = stub.Run(_request("broken", LOOP, wall_seconds=5), timeout=10)
    finally:
        channel.close()
        server.stop(None)
    assert not response.ok
    assert response.error.type == "runner_error"
    assert "KeyError" in response.error.message
    json.loads(response.error.payload_json)
