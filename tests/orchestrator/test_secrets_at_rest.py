"""Secrets at rest: connection credentials, integration auth configs (client secrets),
environment variable values and an environment's notification signing secret are sealed with
AES-GCM in the store, on every engine.

A raw read of the store (the SQLite files, the PostgreSQL tables) shows none of them; reads
through the store give them back; a key rotation keeps them readable and seals them again; a
value moved to another row, or a key that is not configured, fails typed.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import stat
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest

from corral.errors import InvalidRequest
from orchestrator.storage._areas import Storage
from orchestrator.storage._secrets import NO_KEY, SecretBox, SecretUnreadable, key_id
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.storage_support import POSTGRES_DATABASES, Clock, open_engine

pytestmark = pytest.mark.storage_areas("tenants", "connections")

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(100, 132))

CLIENT_SECRET = "cs-plaintext-3f9a"
TOKEN = "tok-plaintext-77b1"
REFRESHED = "tok-refreshed-c0de"
VARIABLE = "var-plaintext-5e2d"
NOTIFY = "whsec_plaintext-91ab"
PLAINTEXTS = (CLIENT_SECRET, TOKEN, REFRESHED, VARIABLE, NOTIFY)
SETTINGS = {
    "log_level": "warn",
    "notifications": {"url": "https://hooks.example", "secret": NOTIFY},
}

_TABLES = ("integrations", "connections", "environment_variables", "environments")


def raw_store(engine: str, tmp_path: pathlib.Path) -> str:
    """Everything the store holds, read past it: the SQLite files' bytes (the WAL included), or
    every row of the secret-holding tables as PostgreSQL's text."""
    if engine == "sqlite":
        return "".join(path.read_bytes().decode("latin-1") for path in tmp_path.glob("corral.db*"))
    with psycopg.connect(POSTGRES_DATABASES[tmp_path]) as conn:
        return "\n".join(
            str(row[0])
            for table in _TABLES
            # S608: the table names are constants of this test.
            for row in conn.execute(f"SELECT t::text FROM {table} t").fetchall()  # noqa: S608
        )


def raw_exec(engine: str, tmp_path: pathlib.Path, sql: str, params: Sequence[Any]) -> None:
    """Runs a statement on the store past it (``?`` placeholders), as an attacker with the
    files or the database would."""
    if engine == "sqlite":
        with sqlite3.connect(tmp_path / "corral.db") as conn:
            conn.execute(sql, params)
        return
    with psycopg.connect(POSTGRES_DATABASES[tmp_path]) as conn:
        conn.execute(sql.replace("?", "%s"), params)


def fill(storage: Storage, name: str = "acme") -> int:
    """An environment with a notification secret, an integration (a client secret), a
    connection (a token, then a refreshed one) and a variable; its id."""
    environment, _ = storage.create_environment(name)
    env = environment.id
    storage.set_environment_settings(env, SETTINGS)
    storage.upsert_integration(
        env,
        "github",
        provider="github",
        base_url="https://api.github.com",
        auth_mode="OAUTH2",
        auth_config={"client_id": "cid", "client_secret": CLIENT_SECRET},
    )
    storage.create_connection(
        env,
        "github",
        "conn-1",
        credentials={"type": "OAUTH2", "access_token": TOKEN},
        connection_config={},
        metadata={"m": 1},
    )
    storage.create_connection(
        env,
        "github",
        "conn-2",
        credentials={"type": "OAUTH2", "access_token": TOKEN},
        connection_config={},
        metadata={},
    )
    storage.update_credentials(env, "conn-2", {"type": "OAUTH2", "access_token": REFRESHED})
    storage.set_environment_variables(env, [("API_SECRET", VARIABLE), ("MODE", "x")])
    return env


def assert_readable(storage: Storage, env: int) -> None:
    assert storage.get_integration(env, "github").auth_config == {
        "client_id": "cid",
        "client_secret": CLIENT_SECRET,
    }
    assert storage.list_integrations(env)[0].auth_config["client_secret"] == CLIENT_SECRET
    assert storage.get_connection(env, "conn-1").credentials["access_token"] == TOKEN
    assert [c.credentials["access_token"] for c in storage.list_connections(env)] == [
        TOKEN,
        REFRESHED,
    ]
    assert storage.get_environment_variables(env) == [("API_SECRET", VARIABLE), ("MODE", "x")]
    name = storage.get_environment_by_id(env).name
    assert storage.get_environment(name).settings == SETTINGS
    assert [e.settings for e in storage.list_environments() if e.id == env] == [SETTINGS]


def test_secrets_are_sealed_in_the_store_and_read_back(
    engine: str, storage: Storage, tmp_path: pathlib.Path
) -> None:
    assert storage.use_secrets(SecretBox(KEY_1)) == 0  # an empty store: nothing to seal
    env = fill(storage)

    assert_readable(storage, env)
    raw = raw_store(engine, tmp_path)
    assert "corral-sealed:v1:" + key_id(KEY_1) in raw
    for plaintext in PLAINTEXTS:
        assert plaintext not in raw
    # What is not secret stays readable past the store.
    assert "api.github.com" in raw


def test_without_a_key_values_are_stored_as_given(
    engine: str, storage: Storage, tmp_path: pathlib.Path
) -> None:
    assert storage.use_secrets(NO_KEY) == 0
    env = fill(storage)

    assert_readable(storage, env)
    raw = raw_store(engine, tmp_path)
    assert "corral-sealed" not in raw
    assert all(plaintext in raw for plaintext in PLAINTEXTS)


def test_plaintext_rows_of_an_older_store_are_sealed_when_a_key_is_set(
    engine: str, storage: Storage, tmp_path: pathlib.Path, clock: Clock
) -> None:
    env = fill(storage)  # a store from before keys: no use_secrets at all
    assert TOKEN in raw_store(engine, tmp_path)

    with open_engine(engine, tmp_path, clock) as restarted:
        # 1 auth config, 2 credentials, 1 notification secret, 2 variables.
        assert restarted.use_secrets(SecretBox(KEY_1)) == 6
        assert_readable(restarted, env)
        assert restarted.use_secrets(SecretBox(KEY_1)) == 0  # already sealed: nothing to do
    raw = raw_store(engine, tmp_path)
    for plaintext in PLAINTEXTS:
        assert plaintext not in raw


def test_a_rotation_keeps_every_secret_readable_and_seals_it_with_the_new_key(
    engine: str, storage: Storage, tmp_path: pathlib.Path, clock: Clock
) -> None:
    storage.use_secrets(SecretBox(KEY_1))
    env = fill(storage)

    with open_engine(engine, tmp_path, clock) as rotating:
        assert rotating.use_secrets(SecretBox(KEY_2, [KEY_1])) == 6
        assert_readable(rotating, env)
    raw = raw_store(engine, tmp_path)
    assert key_id(KEY_1) not in raw
    assert key_id(KEY_2) in raw
    with open_engine(engine, tmp_path, clock) as rotated:  # the old key is no longer needed
        assert rotated.use_secrets(SecretBox(KEY_2)) == 0
        assert_readable(rotated, env)


def test_old_keys_without_a_current_one_store_the_secrets_opened(
    engine: str, storage: Storage, tmp_path: pathlib.Path
) -> None:
    storage.use_secrets(SecretBox(KEY_1))
    env = fill(storage)

    assert storage.use_secrets(SecretBox(None, [KEY_1])) == 6
    assert_readable(storage, env)
    assert "corral-sealed" not in raw_store(engine, tmp_path)


@pytest.mark.parametrize("box", [SecretBox(KEY_2), NO_KEY], ids=["another_key", "no_key"])
def test_a_key_that_does_not_open_the_store_is_refused_at_start_and_changes_nothing(
    engine: str, storage: Storage, tmp_path: pathlib.Path, clock: Clock, box: SecretBox
) -> None:
    storage.use_secrets(SecretBox(KEY_1))
    env = fill(storage)
    before = raw_store(engine, tmp_path)

    with open_engine(engine, tmp_path, clock) as wrong:
        with pytest.raises(InvalidRequest) as caught:
            wrong.use_secrets(box)
        assert caught.value.code == "secrets_key_wrong"
        assert key_id(KEY_1) in caught.value.message
    with open_engine(engine, tmp_path, clock) as unkeyed:  # reads never yield garbage either
        with pytest.raises(SecretUnreadable) as unreadable:
            unkeyed.get_connection(env, "conn-1")
        assert unreadable.value.code == "secret_unreadable"
        assert TOKEN not in str(unreadable.value)
        # What is not secret needs no key: a run's get_metadata reads the metadata alone.
        assert unkeyed.get_metadata(env, "conn-1") == storage.get_metadata(env, "conn-1")
    assert raw_store(engine, tmp_path).count("corral-sealed") == before.count("corral-sealed")


def test_a_sealed_value_moved_to_another_row_fails_typed(
    engine: str, storage: Storage, tmp_path: pathlib.Path
) -> None:
    storage.use_secrets(SecretBox(KEY_1))
    acme = fill(storage, "acme")
    other = fill(storage, "other")

    # Another connection of the same environment.
    raw_exec(
        engine,
        tmp_path,
        "UPDATE connections SET credentials = (SELECT credentials FROM connections"
        " WHERE env_id = ? AND connection_id = 'conn-1')"
        " WHERE env_id = ? AND connection_id = 'conn-2'",
        (acme, acme),
    )
    # The same connection id in another environment (another tenant).
    raw_exec(
        engine,
        tmp_path,
        "UPDATE connections SET credentials = (SELECT credentials FROM connections"
        " WHERE env_id = ? AND connection_id = 'conn-1')"
        " WHERE env_id = ? AND connection_id = 'conn-1'",
        (acme, other),
    )
    # Another variable, and another integration's auth config.
    raw_exec(
        engine,
        tmp_path,
        "UPDATE environment_variables SET value = (SELECT value FROM environment_variables"
        " WHERE env_id = ? AND name = 'API_SECRET') WHERE env_id = ? AND name = 'MODE'",
        (acme, acme),
    )
    raw_exec(
        engine,
        tmp_path,
        "UPDATE integrations SET auth_config = (SELECT auth_config FROM integrations"
        " WHERE env_id = ?) WHERE env_id = ?",
        (acme, other),
    )
    # Another environment's settings, its notification secret with them.
    raw_exec(
        engine,
        tmp_path,
        "UPDATE environments SET settings = (SELECT settings FROM environments WHERE id = ?)"
        " WHERE id = ?",
        (acme, other),
    )

    for read in (
        lambda: storage.get_connection(acme, "conn-2"),
        lambda: storage.get_connection(other, "conn-1"),
        lambda: storage.get_environment_variables(acme),
        lambda: storage.get_integration(other, "github"),
        lambda: storage.get_environment_by_id(other),
        lambda: storage.get_environment("other"),
    ):
        with pytest.raises(SecretUnreadable) as caught:
            read()
        assert caught.value.code == "secret_unreadable"
        assert not any(plaintext in str(caught.value) for plaintext in PLAINTEXTS)
    assert storage.get_connection(acme, "conn-1").credentials["access_token"] == TOKEN
    with pytest.raises(SecretUnreadable):  # and at start, before anything serves
        storage.use_secrets(SecretBox(KEY_2, [KEY_1]))


@pytest.mark.storage_areas("sqlite_file")
def test_the_sqlite_store_files_are_created_0600(tmp_path: pathlib.Path) -> None:
    old = os.umask(0o022)
    try:
        storage = SqliteStorage(tmp_path / "corral.db")
        storage.use_secrets(SecretBox(KEY_1))
        fill(storage)
        files = sorted(tmp_path.glob("corral.db*"))
        assert [path.name for path in files] == ["corral.db", "corral.db-shm", "corral.db-wal"]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        storage.close()
    finally:
        os.umask(old)


@pytest.mark.storage_areas("sqlite_file")
def test_an_existing_store_readable_by_others_is_narrowed_to_0600(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "corral.db"
    SqliteStorage(path).close()
    path.chmod(0o644)

    SqliteStorage(path).close()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
