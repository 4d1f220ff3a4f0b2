"""End-to-end run latency and throughput on each engine, against floors measured in the same run.

    python -m bench [--engine both|sqlite|postgresql] [--runs 200] [--concurrency 8]
                    [--records 100000] [--repeat 3] [--quick]

For each engine, starts a real `corral serve` (on a temporary data directory; for PostgreSQL,
with ``CORRAL_DATABASE_URL`` on a PostgreSQL server the benchmark starts itself as the tests do,
``tests/support/postgres.py``), then measures:

- the floor: a grpcio unary round trip on loopback (the health check of the same server);
- a trivial action end to end (TriggerAction -> runner -> worker -> result), sequentially:
  p50 and p99;
- throughput: trivial actions from several client threads at once.

On PostgreSQL it also measures, on the same server, ``batch_save`` of ``--records`` records
against raw ``COPY`` of their rows into the same database (``bench.pg_records``).

``--engine both`` (the default) measures PostgreSQL only when its server binaries are
installed (``make setup``); naming ``postgresql`` requires them. ``--quick`` is a smoke run of
every part in seconds (few runs, 2,000 records, one repetition), for the tests; its numbers mean
nothing.

Prints one JSON object, one entry per engine, with medians and ratios to the floors. Nothing
here asserts a time: the machines are shared and noisy; read the ratios.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import pg_records
from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.support.postgres import PostgresServer, find_bindir
from tests.support.service import running_service

TRIVIAL = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return {'echo': input}\n"
    "action = create_action(description='echo', exec=run)\n"
)


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def _p99_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3)


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


def _actions(
    data_dir: pathlib.Path, runs: int, concurrency: int, settings: Mapping[str, str]
) -> dict[str, Any]:
    """Latency and throughput of trivial actions on a `corral serve` with ``settings``."""
    with (
        running_service(data_dir, banner=True, CORRAL_PREWARM_WORKERS="4", **settings) as svc,
        Client(svc.address, svc.secret_key) as client,
    ):
        client.call("Deploy", pb.DeployRequest(integration="bench", files={"echo.py": TRIVIAL}))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="bench", connection_id="c"),
        )
        floor = _floor(svc.address, runs)
        for _ in range(10):
            _trigger(client)
        sequential = [_trigger(client) for _ in range(runs)]
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda _: _trigger(client), range(runs)))
        elapsed = time.perf_counter() - start
    return {
        "floor_grpc_round_trip_ms": _median_ms(floor),
        "trivial_action_end_to_end_ms": _median_ms(sequential),
        "trivial_action_end_to_end_p99_ms": _p99_ms(sequential),
        "end_to_end_over_floor": round(statistics.median(sequential) / statistics.median(floor), 1),
        "trivial_actions_per_second": round(runs / elapsed, 1),
        "concurrency": concurrency,
        "runs": runs,
    }


def _postgresql(args: argparse.Namespace) -> dict[str, Any]:
    """The PostgreSQL part: actions on a serve over a server of its own, then batch_save
    against COPY on that same server."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="corral-bench-pg-"))  # removed by the stop
    with (
        PostgresServer.started(root) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        url = server.create_database("bench_serve")
        result = _actions(
            pathlib.Path(tmp) / "data",
            args.runs,
            args.concurrency,
            {"CORRAL_DATABASE_URL": url},
        )
        result["batch_save_vs_copy"] = pg_records.measure(server, args.records, repeat=args.repeat)
    return result


def _has_postgresql() -> bool:
    try:
        find_bindir()
    except RuntimeError:
        return False
    return True


def main() -> None:
    """Runs the benchmark and prints the result."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--records", type=int, default=100_000, help="for batch_save vs COPY")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of batch_save")
    parser.add_argument("--quick", action="store_true", help="a smoke run of every part")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.concurrency, args.records, args.repeat = 10, 2, 2_000, 1
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    if args.engine == "both" and not _has_postgresql():
        engines = ["sqlite"]
    if "postgresql" in engines and not _has_postgresql():
        parser.error("PostgreSQL's server binaries are missing: run `make setup`")
    result: dict[str, Any] = {}
    for engine in engines:
        if engine == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                result["sqlite"] = _actions(pathlib.Path(tmp) / "data", args.runs,
                                            args.concurrency, {})  # fmt: skip
        else:
            result["postgresql"] = _postgresql(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
