"""The cost of resolving a run token on PostgreSQL, against a floor measured in the same run.

    python -m bench.tokens [--resolves 2000]

Starts a throwaway PostgreSQL server (``tests/support/postgres.py``), opens two stores on one
database (two orchestrators), mints a token on the first, then measures on the second:

- the floor: ``SELECT 1`` on a pooled connection (one round trip to the server);
- ``resolve_token``: the store's lookup by digest, every time (no cache);
- ``RunTokens.resolve`` with the default cache of a shared store (``SHARED_CACHE_SECONDS``),
  what a callback pays: mostly a dict access, one lookup per token every cache period;
- ``RunTokens.resolve`` of the in-memory store (one SQLite orchestrator), for comparison.

Prints one JSON object with medians and p99 in microseconds. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile
import time
from collections.abc import Callable

from orchestrator.runs._tokens import SHARED_CACHE_SECONDS, RunScope, RunTokens, _digest
from orchestrator.storage._pg import PostgresStorage
from tests.support.postgres import PostgresServer


def _timed(call: Callable[[], object], count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "median_us": round(statistics.median(samples) * 1e6, 1),
        "p99_us": round(samples[int(len(samples) * 0.99) - 1] * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolves", type=int, default=2000)
    count = parser.parse_args().resolves
    with (
        tempfile.TemporaryDirectory(prefix="corral-bench-tokens-") as root,
        PostgresServer.started(pathlib.Path(root)) as server,
    ):
        url = server.create_database("bench_tokens")
        a, b = PostgresStorage(url), PostgresStorage(url)
        try:
            env_id = a.create_environment("bench/prod")[0].id
            scope = RunScope(env_id, "run-1", "conn-1", "github", "issues", "sync", "base")
            token = RunTokens(store=a).mint(scope, 3600)
            digest = _digest(token)
            cached = RunTokens(store=b)
            uncached = RunTokens(store=b, cache_seconds=0)
            memory = RunTokens()
            memory_token = memory.mint(scope, 3600)

            def floor() -> None:
                with b._statement() as conn:
                    conn.execute("SELECT 1").fetchone()

            for call in (floor, lambda: b.resolve_token(digest)):
                _timed(call, 50)  # warm the pool and the server's caches
            result = {
                "resolves": count,
                "cache_seconds": SHARED_CACHE_SECONDS,
                "floor_select_1": _timed(floor, count),
                "store_resolve_token": _timed(lambda: b.resolve_token(digest), count),
                "run_tokens_resolve_uncached": _timed(lambda: uncached.resolve(token), count),
                "run_tokens_resolve_cached": _timed(lambda: cached.resolve(token), count),
                "memory_resolve": _timed(lambda: memory.resolve(memory_token), count),
            }
        finally:
            a.close()
            b.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
