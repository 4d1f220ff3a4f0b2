"""CORRAL_DATABASE_URL: ``corral serve`` and the admin commands on PostgreSQL, and each reason
the database cannot be used at start as one line naming the setting, never the password."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import psycopg
import pytest

from corral.errors import InvalidRequest, Unavailable
from orchestrator import open_admin
from orchestrator._app import first_start
from orchestrator._store_open import open_storage
from orchestrator.storage._pg import PostgresStorage
from orchestrator.storage._sqlite import SqliteStorage
from tests.support.postgres import PostgresServer, free_port

PASSWORD = "hunter2-s3cret"


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database(postgres_server.unique_name("url"))


def _serve(data_dir: pathlib.Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env |= {"CORRAL_PORT": "0", "CORRAL_DATA_DIR": str(data_dir), "CORRAL_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "corral", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str], code: str) -> str:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert code in lines[0]
    assert "CORRAL_DATABASE_URL" in lines[0]
    assert PASSWORD not in result.stderr + result.stdout
    return lines[0]


def test_without_the_setting_the_store_is_sqlite_in_the_data_dir(tmp_path: pathlib.Path) -> None:
    storage = open_storage(tmp_path, "")
    try:
        assert isinstance(storage, SqliteStorage)
        assert (tmp_path / "corral.db").is_file()
    finally:
        storage.close()


def test_with_the_setting_the_store_is_postgresql(tmp_path: pathlib.Path, database: str) -> None:
    storage = open_storage(tmp_path, database)
    try:
        assert isinstance(storage, PostgresStorage)
        assert not (tmp_path / "corral.db").exists()
    finally:
        storage.close()


def test_admin_commands_open_the_database(tmp_path: pathlib.Path, database: str) -> None:
    with open_admin(tmp_path / "unused", create=True, database_url=database) as admin:
        admin.create_environment("acme")
    with open_admin(tmp_path / "unused", database_url=database) as admin:
        assert admin.environment_settings("acme").name == "acme"
    storage = PostgresStorage(database)
    try:
        assert [env.name for env in storage.list_environments()] == ["acme"]
    finally:
        storage.close()


def test_a_malformed_url_is_one_line(tmp_path: pathlib.Path) -> None:
    result = _serve(tmp_path, f"mysql://corral:{PASSWORD}@db/corral")
    line = _one_line(result, "invalid_setting")
    assert "postgresql://" in line


def test_a_url_the_driver_cannot_parse_is_an_invalid_setting(tmp_path: pathlib.Path) -> None:
    with pytest.raises(InvalidRequest) as caught:
        open_storage(tmp_path, f"postgresql://corral:{PASSWORD}@db/corral?no_such_option=1")
    assert caught.value.code == "invalid_setting"
    assert PASSWORD not in caught.value.message


def test_wrong_credentials_are_one_line(
    tmp_path: pathlib.Path, postgres_server: PostgresServer
) -> None:
    url = f"postgresql://nobody:{PASSWORD}@127.0.0.1:{postgres_server.port}/postgres"
    line = _one_line(_serve(tmp_path, url), "database_refused")
    assert "nobody@127.0.0.1" in line


def test_a_missing_database_is_refused(
    tmp_path: pathlib.Path, postgres_server: PostgresServer
) -> None:
    with pytest.raises(Unavailable) as caught:
        open_storage(tmp_path, postgres_server.url("no_such_database"))
    assert caught.value.code == "database_refused"
    assert "does not exist" in caught.value.message


def test_an_unreachable_server_is_one_line(tmp_path: pathlib.Path) -> None:
    url = f"postgresql://corral:{PASSWORD}@127.0.0.1:{free_port()}/corral"
    line = _one_line(_serve(tmp_path, url), "database_unreachable")
    assert "cannot be reached" in line


def test_a_schema_newer_than_this_build_is_one_line(tmp_path: pathlib.Path, database: str) -> None:
    PostgresStorage(database).close()
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)"
            " VALUES (9999, '9999_future.sql', '2030-01-01T00:00:00Z')"
        )
    line = _one_line(_serve(tmp_path, database), "database_too_new")
    assert "9999" in line


def test_env_create_takes_the_database_url(tmp_path: pathlib.Path, database: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    result = subprocess.run(
        [sys.executable, "-m", "corral", "env", "create", "acme", "--database-url", database],
        env=env | {"CORRAL_DATA_DIR": str(tmp_path / "unused")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["environment"] == "acme"
    assert not (tmp_path / "unused").exists()


def test_of_two_orchestrators_starting_on_a_new_database_one_shows_the_key(
    database: str,
) -> None:
    first, second = PostgresStorage(database), PostgresStorage(database)
    shown: list[str] = []
    try:
        first_start(first, shown.append)

        class Racing:  # the second saw no environment yet, then lost the race to create one
            def list_environments(self) -> list[object]:
                return []

            def create_environment(self, name: str) -> object:
                return second.create_environment(name)

        first_start(Racing(), shown.append)  # type: ignore[arg-type]
        assert len(shown) == 1
        assert [env.name for env in second.list_environments()] == ["dev"]
    finally:
        first.close()
        second.close()


def test_a_server_older_than_the_engine_needs_is_refused_before_any_change(
    tmp_path: pathlib.Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator import _store_open  # noqa: PLC0415

    with psycopg.connect(database) as conn:
        real = conn.info.server_version
    # The real server stands for an old one: the engine asks for a version above it.
    monkeypatch.setattr(_store_open, "MIN_SERVER_VERSION", real + 10000)
    with pytest.raises(InvalidRequest) as caught:
        open_storage(tmp_path, database)
    assert caught.value.code == "database_too_old"
    assert "CORRAL_DATABASE_URL" in caught.value.message
    assert f"PostgreSQL {real // 10000}." in caught.value.message
    with psycopg.connect(database) as conn:  # nothing was migrated on a server refused
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'"
        ).fetchone()
    assert tables == (0,)
    monkeypatch.setattr(_store_open, "MIN_SERVER_VERSION", 130000)
    open_storage(tmp_path, database).close()  # a server new enough opens
