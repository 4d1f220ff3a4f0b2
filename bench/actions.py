"""The action rows: a trivial action end to end, its throughput, an SDK callback, a proxied GET.

Each beside its floor, measured here in the same run: gRPC and pipe round trips
(``bench.floors``), the isolated fork rate, and a raw GET of the same local server.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

from bench import _functions as f
from bench import floors
from bench._rows import Row, check, latency_row, median, ms
from corral.cli import Client


@dataclass(frozen=True)
class Sizes:
    """How many of each measurement (``--quick`` makes them small)."""

    runs: int = 300
    threads: int = 16
    throughput_runs: int = 480
    calls: int = 400
    forks: int = 400


def _timed_echo(client: Client) -> float:
    start = time.perf_counter()
    f.action(client, "echo", 1)
    return time.perf_counter() - start


def _sum(*parts: Sequence[float]) -> list[float]:
    """The element-wise sum of floors measured apart (each sorted: a median adds up)."""
    return [sum(values) for values in zip(*(sorted(p) for p in parts), strict=False)]


def trivial(client: Client, address: str, sizes: Sizes) -> tuple[list[Row], list[float]]:
    """End to end from one client, against 2 gRPC round trips + 1 pipe round trip; also
    returns the gRPC floor samples for the other rows."""
    for _ in range(10):
        _timed_echo(client)
    grpc_rtt = floors.grpc_round_trips(address, sizes.runs)
    pipe_rtt = floors.pipe_round_trips_apart(sizes.runs)
    samples = [_timed_echo(client) for _ in range(sizes.runs)]
    floor = _sum(grpc_rtt, grpc_rtt, pipe_rtt)
    row = latency_row(
        "actions",
        "trivial action, end to end, one client",
        samples,
        floor,
        "2 gRPC + 1 pipe round trip",
        ratio_target=3,
    )
    rows = [
        row,
        latency_row("floors", "gRPC unary round trip (Health)", grpc_rtt, [], ""),
        latency_row("floors", "pipe round trip to a forked process", pipe_rtt, [], ""),
    ]
    return rows, grpc_rtt


def throughput(client: Client, sizes: Sizes) -> Row:
    """Trivial actions per second from ``sizes.threads`` client threads (the median of three
    rounds), against the warm parent's isolated fork rate measured just before."""
    rate, layers = floors.isolated_fork_rate_apart(sizes.forks)
    per_round = max(1, sizes.throughput_runs // 3)
    rates = []
    with ThreadPoolExecutor(sizes.threads) as pool:
        for _ in range(3):
            start = time.perf_counter()
            list(pool.map(lambda _: _timed_echo(client), range(per_round)))
            rates.append(per_round / (time.perf_counter() - start))
    measured = median(rates)
    row = Row(
        "actions",
        f"trivial actions/s, {sizes.threads} client threads",
        "/s",
        round(measured, 1),
        floor=round(rate, 1),
        floor_what="warm-parent isolated fork rate (all layers on)",
        samples=3 * per_round,
        extra={"rounds_per_s": [round(r, 1) for r in rates], "layers": layers["layers_applied"]},
    )
    return check(row, "≥ 300/s and ≥ ½ fork rate", lambda r: r.value >= max(300, rate / 2))


def _in_function(client: Client, what: str, count: int) -> list[float]:
    """Seconds of each of ``count`` SDK calls, timed inside the function, in runs of 100."""
    samples: list[float] = []
    for first in range(0, count, 100):
        batch = {"n": min(100, count - first), "what": what}
        samples += cast(list[float], f.action(client, "calls", batch))
    return samples


def callback(client: Client, grpc_rtt: Sequence[float], sizes: Sizes) -> Row:
    """``get_metadata`` from inside a function, against a gRPC + a pipe round trip."""
    _in_function(client, "metadata", 20)
    samples = _in_function(client, "metadata", sizes.calls)
    floor = _sum(grpc_rtt, floors.pipe_round_trips_apart(len(grpc_rtt)))
    return latency_row(
        "actions",
        "SDK callback (get_metadata)",
        samples,
        floor,
        "gRPC + pipe round trip",
        ratio_target=1.5,
    )


def proxied_get(client: Client, grpc_rtt: Sequence[float], ping_url: str, sizes: Sizes) -> Row:
    """``nango.get`` of a local server from inside a function, against a raw GET of it plus a
    gRPC and a pipe round trip."""
    _in_function(client, "get", 20)
    samples = _in_function(client, "get", sizes.calls)
    raw = floors.raw_gets(ping_url, len(grpc_rtt))
    floor = _sum(raw, grpc_rtt, floors.pipe_round_trips_apart(len(grpc_rtt)))
    row = latency_row(
        "actions",
        "proxied GET to a local server",
        samples,
        floor,
        "raw GET + gRPC + pipe",
        ratio_target=1.5,
    )
    row.extra["raw_get_ms"] = ms(median(raw))
    return row
