"""``batch_save`` hashes first, in a real worker: what travels when the store holds records
unchanged, what when it does not, and that a store that knows nothing of it loses nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from google.protobuf.message import Message

from corral._json import compact
from corral.v1 import callbacks_pb2 as pb
from runner._context import RunContext
from runner.host._host import RunnerHost
from runner.sdk._wire import HASHES_FIRST_MIN
from tests.runner.sdk_support import Scripted, run

SYNC = """
from nango import create_sync

def fetch(nango):
    for batch in nango.get_metadata()['batches']:
        nango.batch_save(batch, 'Item')

sync = create_sync(description='d', frequency='every hour', exec=fetch)
"""


class Store(Scripted):
    """A fake store of one model: records by id, as the orchestrator hashes them.

    ``matching`` False: it answers hashes first as a handler that knows nothing of it does
    (an empty result)."""

    def __init__(self, matching: bool = True) -> None:
        super().__init__()
        self.matching = matching
        self.stored: dict[str, bytes] = {}
        self.sent: list[tuple[str, list[str]]] = []
        """Each BatchSave: ``("hashes", ids)`` or ``("records", ids)``."""

    def call(self, rpc: str, request: Message, deadline: float) -> Message:
        if rpc == "GetMetadata":
            return super().call(rpc, request, deadline)
        assert isinstance(request, pb.RecordBatch)
        if request.ids_json:
            ids = json.loads(request.ids_json)
            self.sent.append(("hashes", ids))
            digests = [request.content_hashes[32 * n : 32 * n + 32] for n in range(len(ids))]
            held = [
                n
                for n, (i, digest) in enumerate(zip(ids, digests, strict=True))
                if self.matching and i in self.stored and self._digest(i) == digest
            ]
            return pb.RecordBatchResult(unchanged=len(held), held=held)
        values = json.loads(request.records_json)
        self.sent.append(("records", [str(value["id"]) for value in values]))
        for value in values:
            self.stored[str(value["id"])] = compact(value).encode()
        return pb.RecordBatchResult(added=len(values))

    def _digest(self, record_id: str) -> bytes:
        return hashlib.sha256(self.stored[record_id]).digest()


def _items(count: int, start: int = 0, name: str = "n") -> list[dict[str, Any]]:
    return [{"id": f"i{n}", "name": name, "n": n / 7} for n in range(start, start + count)]


def _sync(host: RunnerHost, store: Store, *batches: list[dict[str, Any]]) -> None:
    store.answers["get_metadata"] = {"batches": list(batches)}
    outcome = run(host, {"items.py": SYNC}, store, kind="sync", context=RunContext())
    assert outcome.ok, outcome.error


def test_records_the_store_holds_unchanged_do_not_travel_again(sdk_host: RunnerHost) -> None:
    store = Store()
    items = _items(120)
    _sync(sdk_host, store, items)
    store.sent.clear()

    _sync(sdk_host, store, items)

    assert store.sent == [("hashes", [item["id"] for item in items])]


def test_only_the_records_the_store_does_not_hold_follow_in_batch_order(
    sdk_host: RunnerHost,
) -> None:
    store = Store()
    items = _items(100)
    _sync(sdk_host, store, items)
    store.sent.clear()
    again = [*_items(3, 100), *items[:50], *_items(5, 50, "changed"), *items[55:]]

    _sync(sdk_host, store, again)

    assert store.sent == [
        ("hashes", [item["id"] for item in again]),
        ("records", ["i100", "i101", "i102", "i50", "i51", "i52", "i53", "i54"]),
    ]
    assert json.loads(store.stored["i50"])["name"] == "changed"


def test_a_store_that_knows_nothing_of_hashes_first_gets_every_record(
    sdk_host: RunnerHost,
) -> None:
    store = Store(matching=False)
    items = _items(60)
    _sync(sdk_host, store, items)

    _sync(sdk_host, store, items)

    ids = [item["id"] for item in items]
    assert store.sent == [("hashes", ids), ("records", ids)] * 2


def test_after_a_batch_mostly_new_the_next_eight_go_in_full(sdk_host: RunnerHost) -> None:
    store = Store()
    batches = [_items(60, 60 * n) for n in range(11)]

    _sync(sdk_host, store, *batches)

    kinds = [kind for kind, _ in store.sent]
    assert kinds == ["hashes", *["records"] * 9, "hashes", "records", "records"]
    assert sorted(store.stored) == sorted(item["id"] for batch in batches for item in batch)


def test_small_batches_and_repeated_ids_go_in_full(sdk_host: RunnerHost) -> None:
    store = Store()
    small = _items(HASHES_FIRST_MIN - 1)
    repeated = [*_items(60), {"id": "i0", "name": "last", "n": 0}]
    _sync(sdk_host, store, small, repeated)
    store.sent.clear()

    _sync(sdk_host, store, small, repeated)

    assert [kind for kind, _ in store.sent] == ["records", "records"]
    assert json.loads(store.stored["i0"])["name"] == "last"  # the last one wins, as always
