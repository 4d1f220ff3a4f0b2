"""The PostgreSQL engine's own behaviour: migrations under an advisory lock, typed errors of a
server that is lost, busy or back, and concurrent writers that lose nothing.

The area behaviour shared with SQLite is tested by the engine-parametrized storage tests; these
are the engine's plumbing, on the session's server (``postgres_server``) or, for outages, on a
server of the test's own that the test stops and starts for real.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg
import pytest

from corral.errors import AlreadyExists, Unavailable
from orchestrator.storage._areas import (
    CheckpointConflict,
    CheckpointKey,
    NewRun,
    RecordScope,
    Run,
)
from orchestrator.storage._migrate import load_migrations
from orchestrator.storage._pg import PostgresStorage
from orchestrator.storage._records import decode_cursor
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.storage_support import START, Clock, rec
from tests.support.postgres import PostgresServer

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new database with no schema at all."""
    name = postgres_server.unique_name("empty")
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def _migrations(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()
    return [(int(version), str(name)) for version, name in rows]


def _expected() -> list[tuple[int, str]]:
    return [(m.version, m.name) for m in load_migrations("postgresql")]


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.05)


# ---- migrations ----


def test_reopening_applies_no_migration_twice(empty_database: str) -> None:
    storage = PostgresStorage(empty_database, clock=Clock())
    storage.create_environment("acme/prod")
    storage.close()
    storage = PostgresStorage(empty_database, clock=Clock())
    try:
        assert [e.name for e in storage.list_environments()] == ["acme/prod"]
    finally:
        storage.close()

    assert _migrations(empty_database) == _expected()


def test_threads_opening_an_empty_database_together_migrate_once(empty_database: str) -> None:
    openers = 4
    barrier = threading.Barrier(openers)
    opened: list[PostgresStorage] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            barrier.wait(timeout=10)
            opened.append(PostgresStorage(empty_database, clock=Clock(), pool_size=1))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for storage in opened:
        storage.close()

    assert errors == []
    assert len(opened) == openers
    assert _migrations(empty_database) == _expected()


_OPEN = """
import sys
from orchestrator.storage._pg import PostgresStorage
sys.stdin.readline()
PostgresStorage(sys.argv[1]).close()
print("opened")
"""


def test_processes_opening_an_empty_database_together_migrate_once(empty_database: str) -> None:
    # Two processes, as two orchestrators starting at once: each waits on its stdin until both
    # are up and have imported the engine, then both open the database at the same moment.
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN, empty_database],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    outputs = []
    try:
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=30) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert [
        (process.returncode, out) for process, (out, _) in zip(processes, outputs, strict=True)
    ] == [
        (0, "opened\n"),
        (0, "opened\n"),
    ], [err for _, err in outputs]
    assert _migrations(empty_database) == _expected()


def test_the_schema_has_every_table_and_column_of_sqlites(
    empty_database: str, tmp_path: pathlib.Path
) -> None:
    sqlite = SqliteStorage(tmp_path / "corral.db")
    sqlite.close()
    PostgresStorage(empty_database).close()
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(tmp_path / "corral.db") as lite:
        tables = [
            row[0]
            for row in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        expected = {
            table: {row[1] for row in lite.execute(f"PRAGMA table_info({table})")}
            for table in tables
        }
    lite.close()
    with psycopg.connect(empty_database) as connection:
        rows = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        ).fetchall()
    actual: dict[str, set[str]] = {}
    for table, column in rows:
        actual.setdefault(str(table), set()).add(str(column))

    assert actual == expected | POSTGRES_ONLY_TABLES


POSTGRES_ONLY_TABLES = {"run_tokens": {"digest", "env_id", "scope", "expires_at"}}
"""Tables only PostgreSQL has: run tokens, which one SQLite orchestrator keeps in memory."""


# ---- errors of the server ----


def test_an_unreachable_server_is_unavailable_at_open() -> None:
    with pytest.raises(Unavailable) as caught:
        PostgresStorage(
            "postgresql://postgres@127.0.0.1:1/none", wait_timeout_s=0.5, connect_timeout_s=1
        )

    assert caught.value.code == "storage_unavailable"
    assert caught.value.retryable


def test_a_lost_server_is_unavailable_then_recovers_by_itself() -> None:
    root = pathlib.Path(tempfile.mkdtemp(prefix="corral-pg-outage-"))
    with PostgresServer.started(root, durable=True) as server:
        storage = PostgresStorage(server.url(), clock=Clock(), wait_timeout_s=1)
        try:
            environment, _ = storage.create_environment("acme/prod")
            server.stop(remove=False)  # a crash of the server: pg_ctl stop -m immediate

            with pytest.raises(Unavailable) as caught:
                storage.list_environments()
            assert caught.value.code == "storage_unavailable"
            assert caught.value.retryable

            server.start()
            _wait_for(lambda: _works(storage), timeout_s=30)
            assert storage.list_environments() == [environment]
        finally:
            storage.close()


def _works(storage: PostgresStorage) -> bool:
    try:
        storage.list_environments()
    except Unavailable:
        return False
    return True


def test_connections_the_server_ended_are_replaced(
    empty_database: str, postgres_server: PostgresServer
) -> None:
    storage = PostgresStorage(empty_database, clock=Clock(), pool_size=2)
    try:
        storage.create_environment("acme/prod")
        with postgres_server.connect() as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
                (empty_database.rsplit("/", 1)[1],),
            ).fetchone()
        assert ended is not None
        assert ended[0] >= 1

        assert [e.name for e in storage.list_environments()] == ["acme/prod"]
    finally:
        storage.close()


def test_a_lock_held_too_long_is_busy(empty_database: str) -> None:
    storage = PostgresStorage(empty_database, clock=Clock(), wait_timeout_s=0.2)
    try:
        environment, _ = storage.create_environment("acme/prod")
        with psycopg.connect(empty_database) as blocker:
            blocker.execute("SELECT 1 FROM environments FOR UPDATE")
            with pytest.raises(Unavailable) as caught:
                storage.set_environment_variables(environment.id, [("A", "1")])
        storage.set_environment_variables(environment.id, [("A", "1")])

        assert caught.value.code == "storage_busy"
        assert caught.value.retryable
        assert storage.get_environment_variables(environment.id) == [("A", "1")]
    finally:
        storage.close()


# ---- concurrent writers ----


def _together(count: int, work: Callable[[int], None]) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(number)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_one_of_many_creators_of_a_name_wins(empty_database: str) -> None:
    storage = PostgresStorage(empty_database, clock=Clock(), pool_size=8)
    try:
        errors = _together(8, lambda _: _ignore(storage.create_environment("acme/prod")))
        tenants = storage.list_environments()
    finally:
        storage.close()

    assert len(tenants) == 1
    assert len(errors) == 7
    assert {type(exc) for exc in errors} == {AlreadyExists}


def _ignore(_: object) -> None:
    pass


def test_concurrent_metadata_merges_lose_no_key(empty_database: str) -> None:
    storage = PostgresStorage(empty_database, clock=Clock(), pool_size=8)
    try:
        environment, _ = storage.create_environment("acme/prod")
        storage.upsert_integration(
            environment.id,
            "github",
            provider="github",
            base_url="",
            auth_mode="NONE",
            auth_config={},
        )
        storage.create_connection(
            environment.id, "github", "conn-1", credentials={}, connection_config={}, metadata={}
        )

        def merge(number: int) -> None:
            for step in range(5):
                storage.update_metadata(environment.id, "conn-1", {f"k{number}-{step}": step})

        errors = _together(8, merge)
        metadata = storage.get_connection(environment.id, "conn-1").metadata
    finally:
        storage.close()

    assert errors == []
    assert metadata == {f"k{n}-{s}": s for n in range(8) for s in range(5)}


def _seeded(url: str, connections: int = 1) -> tuple[PostgresStorage, int]:
    storage = PostgresStorage(url, clock=Clock(), pool_size=8)
    environment, _ = storage.create_environment("acme/prod")
    storage.upsert_integration(
        environment.id, "github", provider="github", base_url="", auth_mode="NONE", auth_config={}
    )
    for number in range(1, connections + 1):
        storage.create_connection(
            environment.id,
            "github",
            f"conn-{number}",
            credentials={},
            connection_config={},
            metadata={},
        )
    return storage, environment.id


def test_checkpoint_savers_of_one_version_race_and_one_wins(empty_database: str) -> None:
    storage, env_id = _seeded(empty_database)
    key = CheckpointKey(env_id, "conn-1", "fetch")
    try:
        errors = _together(8, lambda n: _ignore(storage.save_checkpoint(key, {"by": n}, 0)))
        value, version = storage.get_checkpoint_versioned(key)
    finally:
        storage.close()

    assert len(errors) == 7
    assert {type(exc) for exc in errors} == {CheckpointConflict}
    assert version == 1
    assert value is not None


def test_orchestrators_claiming_at_once_claim_each_due_schedule_once(empty_database: str) -> None:
    # Four stores on one database, as four orchestrators, claim 40 due schedules together.
    seeder, env_id = _seeded(empty_database, connections=10)
    for number in range(1, 11):
        for sync in ("issues", "pulls", "users", "teams"):
            seeder.ensure_schedule(
                env_id, f"conn-{number}", sync, "base", frequency_seconds=60, state="running"
            )
    stores = [PostgresStorage(empty_database, clock=Clock()) for _ in range(4)]
    claimed: list[list[int]] = [[] for _ in stores]
    later = START + timedelta(hours=1)

    def claim(number: int) -> None:
        for _ in range(5):
            batch = stores[number].claim_due_schedules(later, limit=3)
            claimed[number] += [schedule.schedule_id for schedule in batch]

    try:
        errors = _together(len(stores), claim)
        leftover = seeder.claim_due_schedules(later, limit=100)
    finally:
        for store in [*stores, seeder]:
            store.close()

    every = [schedule_id for batch in claimed for schedule_id in batch]
    assert errors == []
    assert len(every) + len(leftover) == 40
    assert len(set(every) | {s.schedule_id for s in leftover}) == 40


def test_claims_of_one_idempotency_key_at_once_make_one_run(empty_database: str) -> None:
    storage, env_id = _seeded(empty_database)
    new = NewRun("echo", "github", "action", "conn-1", "", '{"n":1}', idempotency_key="k-1")
    claims: list[tuple[str, bool]] = []
    try:
        errors = _together(
            8, lambda _: claims.append(_run_id_and_new(storage.claim_run(env_id, new)))
        )
        runs = storage.list_runs(env_id)
    finally:
        storage.close()

    assert errors == []
    assert len(runs) == 1
    assert sorted(claims) == [(runs[0].run_id, False)] * 7 + [(runs[0].run_id, True)]


def _run_id_and_new(claim: tuple[Run, bool]) -> tuple[str, bool]:
    return claim[0].run_id, claim[1]


def test_a_reader_paging_while_writers_save_misses_no_change(empty_database: str) -> None:
    storage, env_id = _seeded(empty_database)
    writers, batches, size = 4, 10, 20
    total = writers * batches * size
    seen: list[str] = []
    cursors: list[str] = []

    def work(number: int) -> None:
        if number == writers:  # the reader
            cursor = ""
            deadline = time.monotonic() + 20
            while len(seen) < total and time.monotonic() < deadline:
                page, _ = storage.list_records(env_id, "conn-1", "Issue", cursor=cursor, limit=7)
                seen.extend(record.id for record in page)
                cursors.extend(record.cursor for record in page)
                cursor = page[-1].cursor if page else cursor
            return
        scope = RecordScope(env_id, "conn-1", "Issue", "", f"run-{number}")
        for batch in range(batches):
            storage.save_records(scope, [rec(f"{number}-{batch}-{i}") for i in range(size)])

    try:
        errors = _together(writers + 1, work)
    finally:
        storage.close()

    assert errors == []
    assert len(seen) == total
    assert len(set(seen)) == total
    assert cursors == sorted(cursors, key=decode_cursor)
