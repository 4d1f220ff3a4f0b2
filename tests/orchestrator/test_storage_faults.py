"""A store under stress: one that cannot write for a while gives typed, retryable errors and
recovers by itself; concurrent claims of one idempotency key make one run.

The faults are real: the store's own size limit (SQLite's ``max_page_count``) fills it, and a
connection that SQLite holds read-only refuses writes, as after a read-only spell of the disk.
"""

from __future__ import annotations

import pathlib
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from corral.errors import Unavailable
from orchestrator.storage._sqlite import SqliteStorage
from orchestrator.storage._types import NewRun


@pytest.fixture
def storage(tmp_path: pathlib.Path) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "corral.db")
    yield store
    store.close()


def _add(storage: SqliteStorage, env_id: int, number: int) -> None:
    storage.create_connection(
        env_id,
        "shop",
        f"c{number}",
        credentials={"type": "NONE"},
        connection_config={},
        metadata={"pad": "x" * 4000},
    )


def _fill(storage: SqliteStorage, env_id: int) -> tuple[int, Unavailable]:
    """Adds connections until the store refuses one; how many it took, and the refusal."""
    for number in range(200):
        try:
            _add(storage, env_id, number)
        except Unavailable as refused:
            return number, refused
    raise AssertionError("the store never filled up")


def test_a_full_store_is_a_typed_error_and_writes_resume_when_there_is_room(
    storage: SqliteStorage, tmp_path: pathlib.Path
) -> None:
    storage_dir = tmp_path
    env, _ = storage.create_environment("e")
    storage.upsert_integration(
        env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
    )
    connection = storage._connection()
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + 8}")
    added, refused = _fill(storage, env.id)
    assert refused.code == "storage_unavailable"
    assert refused.details["reason"] == "disk_full"
    assert refused.details["data_dir"] == str(storage_dir)
    assert f"free space on the disk of {storage_dir}" in refused.message
    assert refused.retryable
    # Nothing half-written: every connection that was added reads back whole, the failed one
    # is absent.
    listed = storage.list_connections(env.id)
    assert len(listed) == added
    connection.execute("PRAGMA max_page_count = 1073741823")
    _add(storage, env.id, 1000)
    assert len(storage.list_connections(env.id)) == added + 1


def test_a_read_only_spell_does_not_outlive_itself(
    storage: SqliteStorage, tmp_path: pathlib.Path
) -> None:
    storage_dir = tmp_path
    storage.create_environment("e")
    storage._connection().execute("PRAGMA query_only = 1")  # SQLite now refuses every write
    with pytest.raises(Unavailable) as caught:
        storage.create_environment("f")
    assert caught.value.code == "storage_unavailable"
    assert caught.value.details["reason"] == "read_only"
    assert f"make {storage_dir} and the files in it writable" in caught.value.message
    assert caught.value.retryable
    # The refused connection was dropped: the next call opens a writable one.
    storage.create_environment("g")
    assert {env.name for env in storage.list_environments()} == {"e", "g"}


def test_concurrent_claims_of_one_idempotency_key_make_one_run(storage: SqliteStorage) -> None:
    env, _ = storage.create_environment("e")
    new = NewRun("act", "shop", "action", "c1", "base", "{}", idempotency_key="k")
    results: list[tuple[str, bool]] = []

    def claim() -> None:
        run, created = storage.claim_run(env.id, new)
        results.append((run.run_id, created))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({run_id for run_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    other, created = storage.claim_run(env.id, replace(new, idempotency_key="k2"))
    assert created
    assert other.run_id != results[0][0]


def test_a_store_whose_file_cannot_be_opened_is_a_typed_error(tmp_path: pathlib.Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = SqliteStorage(data_dir / "corral.db")
    try:
        store.create_environment("e")
        shutil.rmtree(data_dir)  # the disk went away: a new connection cannot open the file
        caught: list[BaseException] = []

        def write_from_a_new_thread() -> None:
            try:
                store.create_environment("f")
            except BaseException as exc:  # handed to the test thread
                caught.append(exc)

        thread = threading.Thread(target=write_from_a_new_thread)
        thread.start()
        thread.join()
        assert len(caught) == 1
        refused = caught[0]
        assert isinstance(refused, Unavailable)
        assert refused.code == "storage_unavailable"
        assert refused.details == {"reason": "io_error", "data_dir": str(data_dir)}
        assert f"check that {data_dir} exists" in refused.message
        assert refused.retryable
    finally:
        store.close()


def test_opening_a_store_that_cannot_be_made_is_a_typed_error(tmp_path: pathlib.Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the data directory should be")
    with pytest.raises(Unavailable) as caught:
        SqliteStorage(blocked / "corral.db")
    assert caught.value.code == "storage_unavailable"
    assert caught.value.details == {"reason": "io_error", "data_dir": str(blocked)}
    assert caught.value.retryable


def test_the_store_runs_as_its_durability_is_documented(storage: SqliteStorage) -> None:
    """docs/runtime.md, "Durability": WAL, synchronous NORMAL, on every connection."""
    seen: list[tuple[str, int]] = []

    def look() -> None:
        connection = storage._connection()
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        seen.append((mode, connection.execute("PRAGMA synchronous").fetchone()[0]))

    look()
    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert seen == [("wal", 1), ("wal", 1)]  # 1 is NORMAL
