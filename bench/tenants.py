"""200 concurrent runs from 20 environments: throughput, and the least-served environment.

Each environment (made as ``corral env create`` makes it, on the serve's store) deploys the
trivial action; then every environment's callers trigger it at once, ``per_env`` callers each,
``rounds`` times. The row's value is runs per second over the whole; the least-served
environment is the one with the largest p99 of its own runs.
"""

from __future__ import annotations

import pathlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench import _functions as f
from bench._rows import Row, median, ms, p99
from corral.cli import Client
from orchestrator import open_admin


@dataclass(frozen=True)
class Load:
    """The shape of the concurrent load."""

    environments: int = 20
    per_env: int = 10
    rounds: int = 3


def environments(data_dir: pathlib.Path, database_url: str, count: int) -> list[str]:
    """``count`` new environments of the serve's store; their secret keys."""
    stamp = time.monotonic_ns()
    with open_admin(data_dir, database_url=database_url) as admin:
        return [admin.create_environment(f"t{stamp}-{n}").secret_key for n in range(count)]


def concurrent_runs(address: str, keys: list[str], base_url: str, load: Load) -> list[Row]:
    """Throughput and the least-served environment's p99, from ``len(keys)`` environments."""
    clients = [Client(address, key, timeout=600) for key in keys]
    try:
        for client in clients:
            f.deploy(client, base_url)
            f.action(client, "echo", 1)
        callers = [(n, client) for n, client in enumerate(clients) for _ in range(load.per_env)]
        seconds: list[list[float]] = [[] for _ in clients]

        def call(caller: tuple[int, Client]) -> None:
            start = time.perf_counter()
            f.action(caller[1], "echo", 1)
            seconds[caller[0]].append(time.perf_counter() - start)

        start = time.perf_counter()
        with ThreadPoolExecutor(len(callers)) as pool:
            for _ in range(load.rounds):
                list(pool.map(call, callers))
        elapsed = time.perf_counter() - start
    finally:
        for client in clients:
            client.close()
    runs = len(callers) * load.rounds
    worst, best = max(seconds, key=p99), min(seconds, key=p99)
    name = f"{len(callers)} concurrent runs from {len(clients)} environments"
    return [
        Row("tenants", f"{name}: throughput", "/s", round(runs / elapsed, 1), samples=runs),
        Row(
            "tenants",
            f"{name}: least-served environment",
            "ms",
            ms(median(worst)),
            p99=ms(p99(worst)),
            samples=len(worst),
            extra={
                "best_served_p99_ms": ms(p99(best)),
                "all_runs_p99_ms": ms(p99([t for env in seconds for t in env])),
            },
        ),
    ]
