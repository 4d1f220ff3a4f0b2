"""End-to-end run latency and throughput, against floors measured in the same run.

    python -m bench [--runs 200] [--concurrency 8]

Starts a real `corral serve` on a temporary data directory, then measures:

- the floor: a grpcio unary round trip on loopback (the health check of the same server);
- a trivial action end to end (TriggerAction -> runner -> worker -> result), sequentially;
- throughput: trivial actions from several client threads at once.

Prints one JSON object with medians and ratios to the floor. Nothing here asserts a time: the
machines are shared and noisy; read the ratios.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.support.service import running_service

TRIVIAL = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return {'echo': input}\n"
    "action = create_action(description='echo', exec=run)\n"
)


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def _floor(address: str, count: int) -> list[float]:
    channel = grpc.insecure_channel(address)
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()
    stub.Check(request)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        stub.Check(request)
        samples.append(time.perf_counter() - start)
    channel.close()
    return samples


def _trigger(client: Client) -> float:
    start = time.perf_counter()
    client.call(
        "TriggerAction",
        pb.TriggerActionRequest(action_name="echo", connection_id="c", input_json="1"),
    )
    return time.perf_counter() - start


def main() -> None:
    """Runs the benchmark and prints the result."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_service(pathlib.Path(tmp) / "data", CORRAL_PREWARM_WORKERS="4") as svc,
        Client(svc.address, svc.secret_key) as client,
    ):
        client.call("Deploy", pb.DeployRequest(integration="bench", files={"echo.py": TRIVIAL}))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="bench", connection_id="c"),
        )
        floor = _floor(svc.address, args.runs)
        for _ in range(10):
            _trigger(client)
        sequential = [_trigger(client) for _ in range(args.runs)]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(lambda _: _trigger(client), range(args.runs)))
        elapsed = time.perf_counter() - start
    result = {
        "floor_grpc_round_trip_ms": _median_ms(floor),
        "trivial_action_end_to_end_ms": _median_ms(sequential),
        "end_to_end_over_floor": round(statistics.median(sequential) / statistics.median(floor), 1),
        "trivial_actions_per_second": round(args.runs / elapsed, 1),
        "concurrency": args.concurrency,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
