"""batch_save end to end against raw SQLite, measured in the same run.

    python -m bench.records_e2e [--records 50000] [--repeat 3]

A real ``corral serve`` (on a temporary data directory, as the tests start it) runs a sync that
builds ``records`` records of about 80 bytes, validated against a pydantic model, and saves
them with one ``batch_save`` (the SDK sends them 1,000 a call). Each repetition, on a connection
of its own: the sync building the records without saving them (its time is subtracted from
the others), then saving them new, again (unchanged) and changed. The floor is a plain
``executemany`` INSERT of the same rows in one transaction (``bench.records``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile
import time

from bench.records import floor_seconds, make_records
from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers
from tests.support.service import running_service

SYNC = """
from nango import create_sync
from pydantic import BaseModel

class Issue(BaseModel):
    id: str
    title: str
    labels: list[str] = []

def fetch(nango):
    plan = nango.get_metadata()
    rows = [{'id': str(n), 'title': 'Issue %d %s' % (n, plan['tag']), 'labels': ['a', 'b']}
            for n in range(plan['n'])]
    if plan['save']:
        nango.batch_save(rows, 'Issue')

sync = create_sync(description='bench', frequency='every hour', auto_start=False,
                   models={'Issue': Issue}, exec=fetch)
"""


def _sync(client: Client, connection: str, plan: dict[str, object]) -> float:
    metadata = pb.SetMetadataRequest(connection_id=connection, metadata_json=json.dumps(plan))
    client.call("SetMetadata", metadata)
    start = time.perf_counter()
    sdk_helpers.sync(client, "bench", connection)
    return time.perf_counter() - start


def measure(records: int, repeat: int) -> dict[str, float | int]:
    """Medians of ``repeat`` repetitions, each phase's records per second and ratio to the floor."""
    timings: dict[str, list[float]] = {"new": [], "unchanged": [], "changed": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        with (
            running_service(root / "data") as service,
            Client(service.address, service.secret_key, timeout=600) as client,
        ):
            sdk_helpers.setup(client, "bench", {"bench.py": SYNC}, "http://127.0.0.1:1")
            for index in range(repeat):
                connection = f"bench-{index}"
                client.call(
                    "CreateConnection",
                    pb.CreateConnectionRequest(integration="bench", connection_id=connection),
                )
                build = _sync(client, connection, {"n": records, "tag": "a", "save": False})
                for label, tag in (("new", "a"), ("unchanged", "a"), ("changed", "b")):
                    plan = {"n": records, "tag": tag, "save": True}
                    timings[label].append(_sync(client, connection, plan) - build)
                directory = root / f"floor-{index}"
                directory.mkdir()
                timings["floor"].append(floor_seconds(directory, make_records(records, "a")))
    floor = statistics.median(timings["floor"])
    result: dict[str, float | int] = {
        "records": records,
        "floor_raw_insert_ms": round(floor * 1000, 1),
    }
    for label in ("new", "unchanged", "changed"):
        median = statistics.median(timings[label])
        result[f"batch_save_{label}_ms"] = round(median * 1000, 1)
        result[f"batch_save_{label}_per_s"] = round(records / median)
        result[f"batch_save_{label}_over_floor"] = round(median / floor, 2)
    return result


def main() -> None:
    """Runs the benchmark and prints the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.records, args.repeat), indent=2))


if __name__ == "__main__":
    main()
