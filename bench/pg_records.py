"""batch_save on PostgreSQL against raw COPY into the same database, measured in the same run.

    python -m bench.pg_records [--records 100000] [--repeat 3] [--durable]

Starts a PostgreSQL server as the tests do (``tests/support/postgres.py``: Debian's binaries on
a temporary directory, durability off unless ``--durable``, which keeps ``synchronous_commit``),
then, in a fresh migrated database per repetition:

- the floor: one binary ``COPY`` of the records' rows (payload, hash, timestamps, action,
  cursor) into a table of the records table's shape (``LIKE records INCLUDING ALL``: the same
  unique key and cursor index), in one transaction;
- ``save_records`` of the same records in batches of the SDK's size (``RECORDS_PER_CALL``, one
  transaction each, charged to a run's budgets as the callbacks do): new records, the same
  again (unchanged: hashes compared, nothing written), then changed. With ``--analyze`` the
  records table's statistics are taken after the new records, as autovacuum would soon do.

Prints one JSON object: medians and each one's ratio to the floor. Nothing asserts a time: the
machines are shared and noisy; read the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import statistics
import tempfile
import time
from datetime import UTC, datetime

import psycopg

from corral._budgets import Budgets
from orchestrator.storage._areas import NewRun, RecordIn, RecordScope
from orchestrator.storage._pg import PostgresStorage
from runner.sdk._nango import RECORDS_PER_CALL
from tests.support.postgres import PostgresServer

_COPY = (
    "COPY floor (connection_pk, model, variant, record_id, json, content_hash, first_seen_at,"
    " last_modified_at, last_action, cursor) FROM STDIN (FORMAT BINARY)"
)
_TYPES = ["int8", "text", "text", "text", "bytea", "text", "timestamptz", "timestamptz", "text"]


def _records(count: int, tag: str) -> list[RecordIn]:
    out = []
    for n in range(count):
        data = json.dumps(
            {"id": str(n), "title": f"Issue {n} {tag}", "labels": ["a", "b"]}
        ).encode()
        out.append(RecordIn(id=str(n), json=data, content_hash=hashlib.sha256(data).hexdigest()))
    return out


def _floor(url: str, pk: int, records: list[RecordIn]) -> float:
    """Seconds for one COPY of the rows into a table of the records table's shape."""
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE floor (LIKE records INCLUDING ALL)")
        start = time.perf_counter()
        with db.transaction(), db.cursor() as cursor, cursor.copy(_COPY) as copy:
            copy.set_types([*_TYPES, "int8"])
            for number, r in enumerate(records, start=1):
                copy.write_row(
                    (pk, "Issue", "base", r.id, r.json, r.content_hash, now, now, "ADDED", number)
                )
        return time.perf_counter() - start


def _saves(
    storage: PostgresStorage, url: str, env_id: int, count: int, analyze: bool
) -> dict[str, float]:
    """Seconds for ``save_records`` of new, unchanged and changed records, in SDK batches.

    With ``analyze``, the table's statistics are taken after the new records (as autovacuum
    does within a minute of that much change), so the later phases are planned with them.
    """
    run = storage.create_run(env_id, NewRun("sync", "i", "sync", "c", "base", "{}"))
    scope = RecordScope(env_id, "c", "Issue", "base", run.run_id)
    budgets = Budgets(records_per_run=10 * count, record_bytes_per_run=1 << 40)
    timings = {}
    for label, batch in (("new", _records(count, "a")), ("unchanged", _records(count, "a")),
                         ("changed", _records(count, "b"))):  # fmt: skip
        start = time.perf_counter()
        for first in range(0, count, RECORDS_PER_CALL):
            storage.save_records(scope, batch[first : first + RECORDS_PER_CALL], budgets)
        timings[label] = time.perf_counter() - start
        if analyze and label == "new":
            with psycopg.connect(url, autocommit=True) as db:
                db.execute("ANALYZE records")
    return timings


def _prepared(server: PostgresServer, name: str) -> tuple[str, PostgresStorage, int, int]:
    """A fresh database with one connection: its url, storage, environment id and connection
    pk (the caller closes the storage)."""
    url = server.create_database(name)
    storage = PostgresStorage(url)
    env, _ = storage.create_environment("bench")
    storage.upsert_integration(
        env.id, "i", provider="i", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(env.id, "i", "c", credentials={}, connection_config={}, metadata={})
    with psycopg.connect(url) as db:
        row = db.execute("SELECT id FROM connections WHERE connection_id = 'c'").fetchone()
    assert row is not None
    return url, storage, env.id, int(row[0])


def copy_floor(server: PostgresServer, count: int) -> float:
    """Seconds for a raw COPY of ``count`` records' rows, in a fresh database of ``server``
    (the floor of the end-to-end ``batch_save`` rows of ``python -m bench``)."""
    url, storage, _, pk = _prepared(server, server.unique_name("bench_floor"))
    try:
        return _floor(url, pk, _records(count, "a"))
    finally:
        storage.close()


def _repetition(
    server: PostgresServer, name: str, count: int, analyze: bool
) -> tuple[float, dict[str, float]]:
    url, storage, env_id, pk = _prepared(server, name)
    try:
        floor = _floor(url, pk, _records(count, "a"))
        return floor, _saves(storage, url, env_id, count, analyze)
    finally:
        storage.close()


def measure(
    server: PostgresServer, records: int, *, repeat: int = 3, analyze: bool = False
) -> dict[str, float | int | bool]:
    """The medians of ``repeat`` repetitions on ``server``, each in a fresh database, with each
    one's ratio to the floor (``python -m bench`` includes it in its PostgreSQL part)."""
    floors, runs = [], []
    for _ in range(repeat):
        floor, timings = _repetition(server, server.unique_name("bench_records"), records, analyze)
        floors.append(floor)
        runs.append(timings)
    floor = statistics.median(floors)
    result: dict[str, float | int | bool] = {
        "records": records,
        "batch_records": RECORDS_PER_CALL,
        "durable": server.durable,
        "analyze": analyze,
        "floor_raw_copy_ms": round(floor * 1000, 1),
    }
    for label in ("new", "unchanged", "changed"):
        median = statistics.median(r[label] for r in runs)
        result[f"batch_save_{label}_ms"] = round(median * 1000, 1)
        result[f"batch_save_{label}_over_floor"] = round(median / floor, 2)
    return result


def main() -> None:
    """Runs the benchmark and prints the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--durable", action="store_true", help="keep synchronous_commit on")
    parser.add_argument(
        "--analyze", action="store_true", help="ANALYZE records after the new records"
    )
    args = parser.parse_args()
    root = pathlib.Path(tempfile.mkdtemp(prefix="corral-bench-pg-"))  # removed by the stop
    with PostgresServer.started(root, durable=args.durable) as server:
        result = measure(server, args.records, repeat=args.repeat, analyze=args.analyze)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
