"""batch_save against raw SQLite, measured in the same run.

    python -m bench.records [--records 10000]

The floor is a plain ``executemany`` INSERT of the same rows into a table of the same shape in
a fresh file with the same pragmas (WAL, synchronous=NORMAL), in one transaction. Then the
storage's ``save_records`` writes the same batch (new records), again (unchanged: only hashes
compared), and changed. Prints medians and ratios to the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sqlite3
import statistics
import tempfile
import time

from orchestrator.storage._areas import RecordIn, RecordScope
from orchestrator.storage._sqlite import SqliteStorage


def make_records(count: int, tag: str) -> list[RecordIn]:
    """``count`` records like the SDK sends: ids 0..count-1, a title with ``tag``."""
    out = []
    for n in range(count):
        data = json.dumps(
            {"id": str(n), "title": f"Issue {n} {tag}", "labels": ["a", "b"]}
        ).encode()
        out.append(RecordIn(id=str(n), json=data, content_hash=hashlib.sha256(data).hexdigest()))
    return out


def floor_seconds(directory: pathlib.Path, records: list[RecordIn]) -> float:
    """Seconds for one ``executemany`` INSERT of the records' rows, in a fresh file."""
    db = sqlite3.connect(directory / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE r (id TEXT PRIMARY KEY, json BLOB, hash TEXT, at TEXT, cursor INTEGER)"
    )
    rows = [
        (r.id, r.json, r.content_hash, "2026-01-01T00:00:00Z", i) for i, r in enumerate(records)
    ]
    start = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def _storage_run(directory: pathlib.Path, count: int, index: int) -> dict[str, float]:
    storage = SqliteStorage(directory / f"corral-{index}.db")
    env, _ = storage.create_environment("bench")
    storage.upsert_integration(
        env.id, "i", provider="i", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(env.id, "i", "c", credentials={}, connection_config={}, metadata={})
    scope = RecordScope(env.id, "c", "Issue", "base", "run-1")
    timings = {}
    for label, batch in (("new", make_records(count, "a")), ("unchanged", make_records(count, "a")),
                         ("changed", make_records(count, "b"))):  # fmt: skip
        start = time.perf_counter()
        storage.save_records(scope, batch)
        timings[label] = time.perf_counter() - start
    storage.close()
    return timings


def main() -> None:
    """Runs the benchmark and prints the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    floors, runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.repeat):
            directory = pathlib.Path(tmp) / str(index)
            directory.mkdir()
            floors.append(floor_seconds(directory, make_records(args.records, "a")))
            runs.append(_storage_run(directory, args.records, index))
    floor = statistics.median(floors)
    result: dict[str, float] = {
        "records": args.records,
        "floor_raw_insert_ms": round(floor * 1000, 1),
    }
    for label in ("new", "unchanged", "changed"):
        median = statistics.median(r[label] for r in runs)
        result[f"batch_save_{label}_ms"] = round(median * 1000, 1)
        result[f"batch_save_{label}_over_floor"] = round(median / floor, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
