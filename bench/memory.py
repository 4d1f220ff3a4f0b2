"""Peak memory of `corral serve` and its runner for concurrent large responses, beside the bound.

    python -m bench.memory [--size-mb 60] [--concurrency 8] [--rounds 2]

Starts a real `corral serve` (one local runner) and a local API, then runs ``--concurrency``
actions at once, each fetching a body of ``--size-mb`` MB through the proxy (and checking its
sha256), ``--rounds`` times. For each process it prints the RSS before, the peak (VmHWM, reset
before the burst), the RSS a few seconds after, and the growth per response in units of the
body size: the constant of the bound in docs/runtime.md ("Memory"),

    peak growth <= concurrent SDK calls x response cap x constant.

Nothing here asserts: tests/e2e/test_memory.py holds a bound with margins; read the numbers.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from corral.cli import Client
from tests.e2e import sdk_helpers as h
from tests.support.large_bodies import (
    CHECKER,
    MiB,
    digest,
    reset_peak,
    runner_pid,
    running_large_api,
    status_kib,
)
from tests.support.service import running_service

BOUND_CONSTANTS = {"serve": 3, "runner": 3}
"""The constants docs/runtime.md states (peak growth per in-flight response, in body sizes)."""


def _burst(client: Client, size: int, concurrency: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outputs = list(
            pool.map(
                lambda _: h.action(client, "checker", {"path": f"/sized/{size}"}),
                range(concurrency),
            )
        )
    expected = {"size": size, "sha256": digest(size)}
    if any(output != expected for output in outputs):
        raise SystemExit(f"a body arrived damaged: {outputs[0]}")
    return time.perf_counter() - start


def _measure(
    pids: dict[str, int], size: int, concurrency: int, rounds: int, client: Client
) -> dict[str, Any]:
    before = {name: status_kib(pid, "VmRSS") for name, pid in pids.items()}
    for pid in pids.values():
        reset_peak(pid)
    seconds = [_burst(client, size, concurrency) for _ in range(rounds)]
    peak = {name: status_kib(pid, "VmHWM") for name, pid in pids.items()}
    time.sleep(3)  # what stays after the burst, once the last buffers are freed
    after = {name: status_kib(pid, "VmRSS") for name, pid in pids.items()}
    in_flight = concurrency * size / 1024
    report: dict[str, Any] = {"seconds_per_burst": [round(s, 2) for s in seconds]}
    for name in pids:
        growth = peak[name] - before[name]
        report[name] = {
            "rss_before_mb": round(before[name] / 1024, 1),
            "peak_mb": round(peak[name] / 1024, 1),
            "rss_after_mb": round(after[name] / 1024, 1),
            "kept_mb": round((after[name] - before[name]) / 1024, 1),
            "growth_per_body": round(growth / in_flight, 2),
            "bound_mb": round(before[name] / 1024 + BOUND_CONSTANTS[name] * in_flight / 1024, 1),
        }
    return report


def main() -> None:
    """Measures and prints one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    size = args.size_mb * 1000 * 1000
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_large_api() as api,
        running_service(pathlib.Path(tmp) / "data", CORRAL_PREWARM_WORKERS="2") as service,
        Client(service.address, service.secret_key, timeout=300) as client,
    ):
        h.setup(client, "big", {"checker.py": CHECKER}, api.url)
        h.action(client, "checker", {"path": "/sized/1000"})  # warm: the first run deploys
        pids = {"serve": service.process.pid, "runner": runner_pid(service)}
        report = _measure(pids, size, args.concurrency, args.rounds, client)
    report |= {"body_mb": round(size / MiB, 1), "concurrency": args.concurrency}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
