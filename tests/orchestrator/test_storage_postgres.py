"""The PostgreSQL engine's own behaviour: migrations under an advisory lock, typed errors of a
server that is lost, busy or back, and concurrent writers that lose nothing.

The area behaviour shared with SQLite is tested by the engine-parametrized storage tests; these
are the engine's plumbing, on the session's server (``postgres_server``) or, for outages, on a
server of the test's own that the test stops and starts for real.
"""

from __future__ import annotations

import itertools
import json
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from corral._budgets import Budgets
from corral.errors import AlreadyExists, InvalidRequest, Unavailable
from orchestrator.storage._areas import (
    CheckpointConflict,
    CheckpointKey,
    FunctionRow,
    NewRun,
    RecordCounts,
    RecordScope,
    Run,
    StoredRecord,
)
from orchestrator.storage._fresh_statistics import Analyzer
from orchestrator.storage._migrate import load_migrations
from orchestrator.storage._pg import PostgresStorage
from orchestrator.storage._pg_base import check_connection
from orchestrator.storage._pg_records import (
    _SELECT_MATCHED,
    _SELECT_SAVE_ROWS,
    _pair_arguments,
    lock_scope,
)
from orchestrator.storage._records import decode_cursor
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.storage_support import START, Clock, rec, statements_sent
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
from orchestrator.storage._pg_records import lock_scope
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


POSTGRES_ONLY_TABLES = {
    "run_tokens": {"digest", "env_id", "scope", "expires_at"},
    "fleet_runners": {
        *("runner_id", "address", "slots", "runs_in_progress", "idle_workers"),
        *("layers_applied", "layers_missing", "draining", "version", "last_heartbeat"),
    },
}
"""Tables only PostgreSQL has: run tokens and the fleet's runners, which one SQLite
orchestrator keeps in memory."""


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
        assert _end_backends(postgres_server, empty_database) >= 1

        assert [e.name for e in storage.list_environments()] == ["acme/prod"]
    finally:
        storage.close()


def _end_backends(server: PostgresServer, url: str) -> int:
    """Ends every backend of ``url``'s database for real, and waits until they are gone."""
    name = url.rsplit("/", 1)[1]
    with server.connect() as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        ).fetchone()
        _wait_for(
            lambda: (
                admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
                ).fetchone()
                == (0,)
            )
        )
    assert ended is not None
    return int(str(ended[0]))


def test_a_taken_connection_costs_no_round_trip_unless_it_broke(
    empty_database: str, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's check of a connection it hands out (``check_connection``) sends nothing on
    a healthy one (a round trip per store call, otherwise); one the server ended fails it."""
    with psycopg.connect(empty_database, autocommit=True) as connection:
        connection.execute("SELECT 1").fetchone()
        sent: list[object] = []
        real_execute = psycopg.Connection.execute

        def counted(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            if self is connection:
                sent.append(query)
            return real_execute(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Connection, "execute", counted)
        check_connection(connection)  # type: ignore[arg-type]  # rows as tuples: unread here
        assert sent == []

        _end_backends(postgres_server, empty_database)
        with pytest.raises(psycopg.OperationalError):
            check_connection(connection)  # type: ignore[arg-type]
        assert sent == [""]  # the one round trip, on the connection that had something to say


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


def test_change_numbers_drawn_with_gaps_keep_a_batchs_order(empty_database: str) -> None:
    # Numbers another writer drew between a batch's (a gap) come back one by one, in order.
    storage, env_id = _seeded(empty_database)
    with psycopg.connect(empty_database, autocommit=True) as db:
        db.execute("ALTER SEQUENCE record_cursors INCREMENT BY 3")
    ids = ["c", "a", "e", "b", "d"]
    try:
        scope = RecordScope(env_id, "conn-1", "Issue", "", "run-1")
        storage.save_records(scope, [rec(i) for i in ids])
        records, _ = storage.list_records(env_id, "conn-1", "Issue")
    finally:
        storage.close()

    numbers = [decode_cursor(record.cursor) for record in records]
    assert [record.id for record in records] == ids
    assert [b - a for a, b in itertools.pairwise(numbers)] == [3, 3, 3, 3]


# ---- records: finer locking, cursor safety, bulk writes ----


def _final(storage: PostgresStorage, env_id: int, model: str = "Issue") -> dict[str, StoredRecord]:
    records, more = storage.list_records(env_id, "conn-1", model, limit=10_000)
    assert more == ""
    return {record.id: record for record in records}


def test_readers_paging_while_stores_save_update_and_delete_see_every_final_change(
    empty_database: str,
) -> None:
    # Four stores (as four orchestrators) write one model's overlapping ids at once: adds,
    # changes, deletes, un-deletes; a fifth store pages the model by cursor all the while.
    seeder, env_id = _seeded(empty_database)
    writers, rounds, ids = 4, 12, 30
    stores = [PostgresStorage(empty_database, clock=Clock(), pool_size=2) for _ in range(5)]
    seen: list[tuple[str, int, bytes, str]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def page_to_the_end(cursor: str) -> str:
        while True:
            page, _ = stores[writers].list_records(
                env_id, "conn-1", "Issue", cursor=cursor, limit=9
            )
            seen.extend((r.id, decode_cursor(r.cursor), r.json, r.last_action) for r in page)
            if not page:
                return cursor
            cursor = page[-1].cursor

    def read() -> None:
        try:
            cursor = ""
            while not done.is_set():
                cursor = page_to_the_end(cursor)
            page_to_the_end(cursor)  # what committed after the last look
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def write(number: int) -> None:
        store = stores[number]
        scope = RecordScope(env_id, "conn-1", "Issue", "", f"run-{number}")
        for step in range(rounds):
            picked = [f"r{(number * 7 + step * 5 + i) % ids}" for i in range(10)]
            store.save_records(scope, [rec(i, by=number, step=step) for i in picked])
            store.delete_records(scope, picked[step % 3 :: 4])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        errors += _together(writers, write)
        done.set()
        reader.join(timeout=30)
        final = _final(seeder, env_id)
    finally:
        done.set()
        for store in [*stores, seeder]:
            store.close()

    assert errors == []
    assert not reader.is_alive()
    numbers = [number for _, number, _, _ in seen]
    # No change seen twice, none out of order: the cursors the reader met only grow.
    assert numbers == sorted(set(numbers))
    # No change skipped: the last version the reader met of every record is the final one.
    last = {record_id: (number, data, action) for record_id, number, data, action in seen}
    assert last == {
        record.id: (decode_cursor(record.cursor), record.json, record.last_action)
        for record in final.values()
    }
    assert len(final) == ids


def test_two_runs_updating_one_record_at_once_lose_no_update(empty_database: str) -> None:
    seeder, env_id = _seeded(empty_database)
    seeder.save_records(RecordScope(env_id, "conn-1", "Issue", "", "run-0"), [rec("1")])
    stores = [PostgresStorage(empty_database, clock=Clock(), pool_size=1) for _ in range(6)]

    def update(number: int) -> None:
        scope = RecordScope(env_id, "conn-1", "Issue", "", f"run-{number}")
        for step in range(5):
            patch = json.dumps({"seen": {f"k{number}-{step}": step}}).encode()
            stores[number].update_records(scope, [("1", patch)])

    try:
        errors = _together(len(stores), update)
        final = _final(seeder, env_id)
    finally:
        for store in [*stores, seeder]:
            store.close()

    assert errors == []
    assert json.loads(final["1"].json) == {
        "id": "1",
        "seen": {f"k{n}-{s}": s for n in range(6) for s in range(5)},
    }


def _hold_scope(url: str, env_id: int, model: str) -> psycopg.Connection[DictRow]:
    """A connection in a transaction that holds the scope lock of conn-1's ``model``."""
    holder = psycopg.connect(url, row_factory=dict_row)
    row = holder.execute(
        "SELECT id FROM connections WHERE env_id = %s AND connection_id = 'conn-1'", (env_id,)
    ).fetchone()
    assert row is not None
    lock_scope(holder, int(row["id"]), model, "")
    return holder


def test_writers_of_one_model_take_turns_and_other_models_do_not_wait(
    empty_database: str,
) -> None:
    storage, env_id = _seeded(empty_database)
    storage.close()
    storage = PostgresStorage(empty_database, clock=Clock(), wait_timeout_s=0.3)
    issues = RecordScope(env_id, "conn-1", "Issue", "", "run-1")
    users = RecordScope(env_id, "conn-1", "User", "", "run-1")
    try:
        holder = _hold_scope(empty_database, env_id, "Issue")
        try:
            storage.save_records(users, [rec("u1")])  # another model: no wait
            for write in (
                lambda: storage.save_records(issues, [rec("i1")]),
                lambda: storage.update_records(issues, [("i1", b"{}")]),
                lambda: storage.delete_records(issues, ["i1"]),
                lambda: storage.track_deletes_start(issues),
            ):
                with pytest.raises(Unavailable) as caught:
                    write()
                assert caught.value.code == "storage_busy"
        finally:
            holder.close()
        storage.save_records(issues, [rec("i1")])
        assert sorted(_final(storage, env_id, "Issue")) == ["i1"]
        assert sorted(_final(storage, env_id, "User")) == ["u1"]
    finally:
        storage.close()


def test_a_batch_save_retried_after_its_timeout_is_stored_and_charged_once(
    empty_database: str,
) -> None:
    # The first attempt waits for the model's lock past the store's wait, fails as busy and
    # leaves nothing; the function's retry stores the batch once and charges it once.
    seeder, env_id = _seeded(empty_database)
    run = seeder.create_run(env_id, NewRun("sync", "github", "sync", "conn-1", "", "{}"))
    seeder.close()
    storage = PostgresStorage(empty_database, clock=Clock(), wait_timeout_s=0.3)
    scope = RecordScope(env_id, "conn-1", "Issue", "", run.run_id)
    batch = [rec(str(i)) for i in range(3)]
    budgets = Budgets(records_per_run=4)
    try:
        holder = _hold_scope(empty_database, env_id, "Issue")
        try:
            with pytest.raises(Unavailable) as caught:
                storage.save_records(scope, batch, budgets)
        finally:
            holder.close()
        counts = storage.save_records(scope, batch, budgets)
        with psycopg.connect(empty_database) as check:
            charged = check.execute(
                "SELECT records_saved, record_bytes FROM runs WHERE run_id = %s", (run.run_id,)
            ).fetchone()
        final = _final(storage, env_id)
    finally:
        storage.close()

    assert caught.value.code == "storage_busy"
    assert counts == RecordCounts(added=3)
    assert sorted(final) == ["0", "1", "2"]
    assert charged == (3, sum(len(r.json) for r in batch))


def test_a_batch_of_thousands_is_written_in_a_few_statements(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bulk paths: a batch's adds, changes and deletes are one statement each, not one a record.
    storage, env_id = _seeded(empty_database)
    scope = RecordScope(env_id, "conn-1", "Issue", "", "run-1")
    statements: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    def refused(*_: Any, **__: Any) -> None:
        raise AssertionError("executemany: a statement a record")

    try:
        storage.save_records(scope, [rec(str(i)) for i in range(2000)])
        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        monkeypatch.setattr(psycopg.Cursor, "executemany", refused)
        counts = storage.save_records(
            scope,
            [rec(str(i), v=2) for i in range(1000)] + [rec(str(i)) for i in range(1000, 3000)],
        )
        saving = len(statements)
        deleted = storage.delete_records(scope, [str(i) for i in range(2500)])
        deleting = len(statements) - saving
        monkeypatch.undo()
        final = _final(storage, env_id)
    finally:
        storage.close()

    assert counts == RecordCounts(added=1000, updated=1000, unchanged=1000)
    assert deleted == RecordCounts(deleted=2500)
    assert len(final) == 3000
    assert sum(record.deleted_at is not None for record in final.values()) == 2500
    assert saving <= 10  # begin, lookups, lock, read, cursors, upsert, commit
    assert deleting <= 10


# ---- records: planner statistics kept fresh while a sync writes ----


def _analyses(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'records'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_records_are_analysed_after_many_writes(empty_database: str) -> None:
    storage, env_id = _seeded(empty_database)
    storage._records_analyzer = Analyzer(storage._analyze_records, threshold=50)
    with psycopg.connect(empty_database, autocommit=True) as connection:
        # Only the store's analyses are counted here, never one of autovacuum's.
        connection.execute("ALTER TABLE records SET (autovacuum_enabled = false)")
    try:
        before = _analyses(empty_database)
        scope = RecordScope(env_id, "conn-1", "Issue", "", "run-1")
        storage.save_records(scope, [rec(f"a-{i}") for i in range(40)])
        time.sleep(0.3)
        assert _analyses(empty_database) == before  # under the threshold
        storage.save_records(scope, [rec(f"b-{i}") for i in range(40)])
        _wait_for(lambda: _analyses(empty_database) > before)
        analysed = _analyses(empty_database)
        # Unchanged records write nothing, and count nothing.
        storage.save_records(scope, [rec(f"b-{i}") for i in range(40)])
        storage.save_records(scope, [rec(f"b-{i}") for i in range(40)])
        time.sleep(0.3)
        assert _analyses(empty_database) == analysed
    finally:
        storage.close()


def test_the_analyzer_runs_one_analysis_at_a_time_and_survives_a_failure() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def analyze() -> None:
        calls.append(1)
        started.set()
        release.wait(5)
        raise RuntimeError("the store went away")

    analyzer = Analyzer(analyze, threshold=10)
    analyzer.wrote(10)
    assert started.wait(5)
    analyzer.wrote(100)  # while one runs: counted, not started
    release.set()
    _wait_for(lambda: not analyzer._running)
    assert calls == [1]
    analyzer.wrote(10)  # after the failure, the next threshold starts another
    _wait_for(lambda: len(calls) == 2)


def test_a_lookup_on_the_run_path_is_one_statement(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reads every run makes (its caller's key, its environment, its function with its
    integration's provider) and its row's insert and finish are one statement each,
    autocommitted: no BEGIN and COMMIT round trips around them (and no SELECT of the
    environment before the insert: its foreign key checks it)."""
    storage = PostgresStorage(empty_database, clock=Clock())
    try:
        environment, key = storage.create_environment("acme/prod")
        storage.upsert_integration(
            environment.id, "i", provider="github", base_url="", auth_mode="NONE", auth_config={}
        )
        storage.create_connection(
            environment.id,
            "i",
            "c",
            credentials={"type": "NONE"},
            connection_config={},
            metadata={},
        )
        files = {"f.py": "x = 1\n"}
        function = FunctionRow("f", "action", "1", "", {}, files, "f.py", "h")
        storage.replace_functions(environment.id, "i", [function])
        sent = statements_sent(monkeypatch)
        assert storage.environment_by_secret_key(key).id == environment.id
        assert storage.get_environment_by_id(environment.id).name == "acme/prod"
        found, provider = storage.get_connection_function(environment.id, "c", "f")
        assert (found.name, provider) == ("f", "github")
        run = storage.create_run(environment.id, NewRun("f", "i", "action", "c", "", "{}"))
        assert storage.finish_run(run.run_id, True, "1", None).state == "succeeded"
        assert sent == ["SELECT", "SELECT", "SELECT", "INSERT", "UPDATE"]
    finally:
        storage.close()


def test_a_batchs_lookup_in_a_mid_sized_scope_probes_the_index(empty_database: str) -> None:
    # With PostgreSQL's default random_page_cost (4, a spinning disk's) the planner read a
    # batch's 1,000 ids in a scope of 21,000 records as a scan of the whole scope, whose cost
    # grows with the scope; corral's sessions price a page read as memory does (1.1).
    storage, env_id = _seeded(empty_database)
    scope = RecordScope(env_id, "conn-1", "Issue", "", "run-1")
    try:
        for first in range(0, 21_000, 3_000):
            storage.save_records(scope, [rec(str(i)) for i in range(first, first + 3_000)])
        claims = [(str(i), "0" * 64) for i in range(1_000)]
        with storage._pool.connection() as conn:
            assert conn.execute("SHOW random_page_cost").fetchone() == {"random_page_cost": "1.1"}
            conn.execute("ANALYZE records")
            pk = conn.execute("SELECT id FROM connections").fetchone()
            assert pk is not None
            arguments = _pair_arguments(int(pk["id"]), scope, claims)
            for statement in (_SELECT_SAVE_ROWS, _SELECT_MATCHED):
                plan = "\n".join(
                    row["QUERY PLAN"]
                    for row in conn.execute("EXPLAIN " + statement, arguments).fetchall()
                )
                assert "Index" in plan, plan
                assert "Seq Scan on records" not in plan, plan
    finally:
        storage.close()


def test_a_value_the_server_refuses_is_unstorable_value_without_its_text(
    empty_database: str,
) -> None:
    """The net under the NUL checks (``orchestrator._text_values``): a psycopg DataError from
    any statement is a typed InvalidRequest, never an internal error, and the answer holds
    neither the server's text nor the value."""
    storage = PostgresStorage(empty_database)
    try:
        env, _ = storage.create_environment("net")
        storage.upsert_integration(
            env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
        )
        storage.create_connection(
            env.id, "shop", "c1", credentials={}, connection_config={}, metadata={}
        )
        # A sync name comes from a deployed function, so nothing before the store checks it.
        with pytest.raises(InvalidRequest) as caught:
            storage.ensure_schedule(
                env.id, "c1", "secret\x00name", "base", frequency_seconds=60.0, state="running"
            )
        assert caught.value.code == "unstorable_value"
        assert "secret" not in caught.value.message
        assert "NUL (0x00)" not in caught.value.message  # psycopg's own text
        assert storage.list_schedules(env.id) == []  # the store still answers
    finally:
        storage.close()
