"""A noisy tenant against a quiet one: the quiet tenant's trivial action, alone and under flood.

    python -m bench.fairness [--flood 100] [--samples 200]

Starts a real `corral serve` (default settings: 64 run slots, each environment 16 runs, 32 SDK
calls and 32 API calls at once) and a local API whose one endpoint answers only when released.
Then:

1. alone: the quiet environment triggers a trivial action ``--samples`` times, one after the
   other (after a warm-up);
2. flood: the noisy environment starts ``--flood`` long runs (each waits for the slow API) as
   background runs, and as many synchronous calls as its API call limit lets in (those past it
   are refused with ``too_many_calls``, counted); while they are all in progress, the quiet
   environment measures again;
3. the slow API is released and every noisy run must end.

Prints one JSON object: the quiet tenant's p50 and p99 alone and under flood, their ratio
(target: p99 under flood at most 2x alone), and what the noisy tenant got. Nothing here asserts
a time: the machines are shared and noisy; read the ratio.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from corral.cli import Client
from corral.errors import ResourceExhausted
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import Seen, running_fake_api
from tests.support.processes import wait_for
from tests.support.service import create_environment, running_service

LONG = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return nango.get(endpoint='/slow').data\n"
    "action = create_action(description='waits for a slow API', exec=run)\n"
)
TRIVIAL = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return {'echo': input}\n"
    "action = create_action(description='echo', exec=run)\n"
)


class SlowApi:
    """``GET /slow`` held until released; counts requests in flight."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.in_flight += 1
        try:
            self.release.wait(300)
            return 200, {"ok": True}, {}
        finally:
            with self._lock:
                self.in_flight -= 1


def _tenant(address: str, key: str, base_url: str) -> Client:
    client = Client(address, key, timeout=600)
    client.call(
        "Deploy",
        pb.DeployRequest(integration="t", files={"long.py": LONG, "echo.py": TRIVIAL}),
    )
    client.call("CreateIntegration", pb.CreateIntegrationRequest(unique_key="t", base_url=base_url))
    client.call("CreateConnection", pb.CreateConnectionRequest(integration="t", connection_id="c"))
    return client


def _action(client: Client, name: str, asynchronous: bool = False) -> str:
    request = pb.TriggerActionRequest(action_name=name, connection_id="c", input_json="1")
    setattr(request, "async", asynchronous)
    return str(client.call("TriggerAction", request).run_id)


def _timed(client: Client, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        _action(client, "echo")
        out.append(time.perf_counter() - start)
    return out


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
    }


def main() -> None:
    """Runs the benchmark and prints the result."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flood", type=int, default=100, help="the noisy tenant's long runs")
    parser.add_argument("--samples", type=int, default=200, help="quiet actions per phase")
    args = parser.parse_args()
    slow = SlowApi()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_fake_api() as api,
        running_service(pathlib.Path(tmp) / "data", CORRAL_PREWARM_WORKERS="4") as svc,
    ):
        api.routes[("GET", "/slow")] = slow
        quiet = _tenant(svc.address, create_environment(svc, "quiet"), api.url)
        noisy = _tenant(svc.address, create_environment(svc, "noisy"), api.url)
        _timed(quiet, 20)  # warm-up
        alone = _timed(quiet, args.samples)
        refused = 0
        background = [_action(noisy, "long", asynchronous=True) for _ in range(args.flood)]

        def waiting_call(_: int) -> str:
            nonlocal refused
            try:
                return _action(noisy, "long")
            except ResourceExhausted:
                refused += 1
                return "refused"

        with ThreadPoolExecutor(args.flood) as callers:
            sync_calls = [callers.submit(waiting_call, i) for i in range(args.flood)]
            wait_for(lambda: slow.in_flight >= 16, 60)
            time.sleep(1.0)  # let every refusal and admission settle
            in_flight = slow.in_flight
            flooded = _timed(quiet, args.samples)
            slow.release.set()
            finished = sum(1 for call in sync_calls if call.result(timeout=600) != "refused")
        ended = wait_for(lambda: _all_ended(noisy, background), 600)
        quiet.close()
        noisy.close()
    a, f = _percentiles(alone), _percentiles(flooded)
    result = {
        "quiet_alone": a,
        "quiet_under_flood": f,
        "p99_ratio": round(f["p99_ms"] / a["p99_ms"], 2),
        "target_p99_ratio": 2.0,
        "noisy": {
            "background_runs": args.flood,
            "synchronous_calls": args.flood,
            "synchronous_refused_too_many_calls": refused,
            "synchronous_finished": finished,
            "upstream_requests_in_flight_during_measure": in_flight,
            "all_background_runs_ended": ended,
        },
    }
    print(json.dumps(result, indent=2))


def _all_ended(client: Client, run_ids: list[str]) -> bool:
    for run_id in run_ids:
        state = client.call("GetRun", pb.GetRunRequest(run_id=run_id)).state
        if state in (pb.RUN_STATE_QUEUED, pb.RUN_STATE_RUNNING):
            return False
    return True


if __name__ == "__main__":
    main()
