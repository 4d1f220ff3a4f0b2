"""Storage: environments, integrations, connections, functions, variables, runs, logs,
checkpoints, migrations and concurrency (records are in test_records.py)."""

from __future__ import annotations

import pathlib
import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from corral.errors import AlreadyExists, InvalidRequest, NotFound, Unauthenticated, Unavailable
from orchestrator.storage._areas import (
    CheckpointConflict,
    CheckpointKey,
    FunctionRow,
    LogLine,
    NewRun,
    Storage,
)
from orchestrator.storage._migrate import load_migrations
from tests.orchestrator.storage_support import (
    START,
    Clock,
    Tenant,
    make_tenant,
    open_engine,
    rec,
)


def function(name: str, kind: str = "sync", version: str = "1.0.0") -> FunctionRow:
    return FunctionRow(
        name=name,
        kind=kind,
        version=version,
        description=f"{name} function",
        config={"frequency": "every hour"},
        files={f"{name}.py": "from nango import create_sync\n"},
        entry=f"{name}.py",
        code_hash=f"hash-{name}-{version}",
    )


def new_run(function_name: str = "fetch", connection_id: str = "conn-1") -> NewRun:
    return NewRun(function_name, "github", "sync", connection_id, "", "{}")


# ---- environments ----


@pytest.mark.storage_areas("tenants")
def test_create_environment_returns_row_and_secret_key(storage: Storage) -> None:
    environment, secret_key = storage.create_environment("acme/prod")

    assert environment.name == "acme/prod"
    assert environment.settings == {}
    assert environment.created_at == START
    assert secret_key.startswith("sk_")
    assert len(secret_key) > 40


@pytest.mark.storage_areas("tenants")
def test_duplicate_environment_name_is_refused(storage: Storage) -> None:
    storage.create_environment("acme/prod")

    with pytest.raises(AlreadyExists) as caught:
        storage.create_environment("acme/prod")
    assert caught.value.code == "environment_exists"


@pytest.mark.storage_areas("tenants")
def test_secret_key_finds_its_environment_only(storage: Storage) -> None:
    prod, prod_key = storage.create_environment("acme/prod")
    dev, dev_key = storage.create_environment("acme/dev")

    assert storage.environment_by_secret_key(prod_key) == prod
    assert storage.environment_by_secret_key(dev_key) == dev
    assert prod_key != dev_key


@pytest.mark.storage_areas("tenants")
def test_a_rotated_key_replaces_the_old_one_at_once(storage: Storage) -> None:
    prod, old = storage.create_environment("acme/prod")
    _dev, dev_key = storage.create_environment("acme/dev")
    new = storage.rotate_secret_key(prod.id)
    assert new.startswith("sk_")
    assert new not in {old, dev_key}
    assert storage.environment_by_secret_key(new) == prod
    with pytest.raises(Unauthenticated):
        storage.environment_by_secret_key(old)
    assert storage.environment_by_secret_key(dev_key).name == "acme/dev"  # others untouched
    with pytest.raises(NotFound):
        storage.rotate_secret_key(prod.id + 1000)


@pytest.mark.storage_areas("tenants")
@pytest.mark.parametrize("wrong", ["", "sk_nope", "acme/prod"])
def test_wrong_secret_key_is_unauthenticated(storage: Storage, wrong: str) -> None:
    storage.create_environment("acme/prod")

    with pytest.raises(Unauthenticated):
        storage.environment_by_secret_key(wrong)


@pytest.mark.storage_areas("tenants", "sqlite_file")
def test_secret_key_is_stored_only_as_a_hash(engine: str, tmp_path: pathlib.Path) -> None:
    if engine != "sqlite":
        pytest.skip("reads the SQLite file")
    with open_engine(engine, tmp_path, Clock()) as storage:
        _, secret_key = storage.create_environment("acme/prod")
    raw = (tmp_path / "corral.db").read_bytes() + _wal(tmp_path)

    assert secret_key.encode() not in raw


def _wal(tmp_path: pathlib.Path) -> bytes:
    wal = tmp_path / "corral.db-wal"
    return wal.read_bytes() if wal.exists() else b""


@pytest.mark.storage_areas("tenants")
def test_get_and_list_environments(storage: Storage) -> None:
    prod, _ = storage.create_environment("acme/prod")
    dev, _ = storage.create_environment("acme/dev")

    assert storage.get_environment("acme/prod") == prod
    assert storage.list_environments() == [dev, prod]
    with pytest.raises(NotFound) as caught:
        storage.get_environment("acme/none")
    assert caught.value.code == "unknown_environment"


@pytest.mark.storage_areas("tenants")
def test_environment_settings_are_replaced(storage: Storage) -> None:
    environment, _ = storage.create_environment("acme/prod")

    storage.set_environment_settings(environment.id, {"log_level": "debug", "x": {"y": 1}})
    storage.set_environment_settings(environment.id, {"log_level": "warn"})

    assert storage.get_environment("acme/prod").settings == {"log_level": "warn"}
    with pytest.raises(NotFound):
        storage.set_environment_settings(environment.id + 100, {})


# ---- integrations ----


@pytest.mark.storage_areas("tenants", "connections")
def test_upsert_integration_creates_then_replaces(storage: Storage) -> None:
    environment, _ = storage.create_environment("acme/prod")
    first = storage.upsert_integration(
        environment.id,
        "github",
        provider="github",
        base_url="https://api.github.com",
        auth_mode="BEARER",
        auth_config={"header": "Authorization"},
    )
    second = storage.upsert_integration(
        environment.id,
        "github",
        provider="github",
        base_url="https://ghe.acme.test/api/v3",
        auth_mode="OAUTH2",
        auth_config={},
    )

    assert first.base_url == "https://api.github.com"
    assert first.auth_config == {"header": "Authorization"}
    assert second.base_url == "https://ghe.acme.test/api/v3"
    assert second.auth_mode == "OAUTH2"
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert storage.get_integration(environment.id, "github") == second
    assert storage.list_integrations(environment.id) == [second]


@pytest.mark.storage_areas("tenants", "connections")
def test_unknown_integration_is_not_found(tenant: Tenant, storage: Storage) -> None:
    with pytest.raises(NotFound) as caught:
        storage.get_integration(tenant.env_id, "gitlab")
    assert caught.value.code == "unknown_integration"


# ---- connections ----


@pytest.mark.storage_areas("tenants", "connections")
def test_create_and_get_connection(tenant: Tenant, storage: Storage) -> None:
    created = storage.create_connection(
        tenant.env_id,
        "github",
        "conn-2",
        credentials={"type": "API_KEY", "api_key": "k"},
        connection_config={"subdomain": "acme"},
        metadata={"team": "core"},
        base_url="https://override.test",
    )

    assert created == storage.get_connection(tenant.env_id, "conn-2")
    assert created.integration_key == "github"
    assert created.provider == "github"
    assert created.auth_mode == "BEARER"
    assert created.credentials == {"type": "API_KEY", "api_key": "k"}
    assert created.connection_config == {"subdomain": "acme"}
    assert created.metadata == {"team": "core"}
    assert created.base_url == "https://override.test"


@pytest.mark.storage_areas("tenants", "connections")
def test_connection_errors(tenant: Tenant, storage: Storage) -> None:
    with pytest.raises(AlreadyExists) as exists:
        storage.create_connection(
            tenant.env_id, "github", "conn-1", credentials={}, connection_config={}, metadata={}
        )
    with pytest.raises(NotFound) as no_integration:
        storage.create_connection(
            tenant.env_id, "gitlab", "conn-9", credentials={}, connection_config={}, metadata={}
        )
    with pytest.raises(NotFound) as no_connection:
        storage.get_connection(tenant.env_id, "conn-9")

    assert exists.value.code == "connection_exists"
    assert no_integration.value.code == "unknown_integration"
    assert no_connection.value.code == "unknown_connection"


@pytest.mark.storage_areas("tenants", "connections")
def test_list_connections_by_integration(tenant: Tenant, storage: Storage) -> None:
    storage.upsert_integration(
        tenant.env_id, "slack", provider="slack", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        tenant.env_id, "slack", "conn-0", credentials={}, connection_config={}, metadata={}
    )

    assert [c.connection_id for c in storage.list_connections(tenant.env_id)] == [
        "conn-0",
        "conn-1",
    ]
    assert [c.connection_id for c in storage.list_connections(tenant.env_id, "github")] == [
        "conn-1"
    ]
    assert storage.list_connections(tenant.env_id, "gitlab") == []


@pytest.mark.storage_areas("tenants", "connections")
def test_metadata_set_replaces_and_update_merges_top_level(
    tenant: Tenant, storage: Storage
) -> None:
    storage.set_metadata(tenant.env_id, "conn-1", {"a": 1, "nested": {"x": 1, "y": 2}})

    merged = storage.update_metadata(tenant.env_id, "conn-1", {"b": 2, "nested": {"x": 9}})

    assert merged == {"a": 1, "b": 2, "nested": {"x": 9}}
    assert storage.get_connection(tenant.env_id, "conn-1").metadata == merged
    storage.set_metadata(tenant.env_id, "conn-1", {"c": 3})
    assert storage.get_connection(tenant.env_id, "conn-1").metadata == {"c": 3}


@pytest.mark.storage_areas("tenants", "connections")
def test_update_credentials(tenant: Tenant, storage: Storage) -> None:
    before = storage.get_connection(tenant.env_id, "conn-1")

    storage.update_credentials(tenant.env_id, "conn-1", {"type": "BEARER", "token": "new"})

    after = storage.get_connection(tenant.env_id, "conn-1")
    assert after.credentials == {"type": "BEARER", "token": "new"}
    assert after.updated_at > before.updated_at
    with pytest.raises(NotFound):
        storage.update_credentials(tenant.env_id, "conn-9", {})


def test_delete_connection_removes_records_and_checkpoints_keeps_runs(
    tenant: Tenant, storage: Storage
) -> None:
    storage.save_records(tenant.scope(), [rec("1", title="a")])
    key = CheckpointKey(tenant.env_id, "conn-1", "fetch")
    storage.save_checkpoint(key, {"page": 2})
    run = storage.create_run(tenant.env_id, new_run())

    storage.delete_connection(tenant.env_id, "conn-1")

    with pytest.raises(NotFound):
        storage.get_connection(tenant.env_id, "conn-1")
    storage.create_connection(
        tenant.env_id, "github", "conn-1", credentials={}, connection_config={}, metadata={}
    )
    assert storage.list_records(tenant.env_id, "conn-1", "Issue") == ([], "")
    assert storage.get_checkpoint(key) is None
    assert storage.get_run(tenant.env_id, run.run_id) == run
    with pytest.raises(NotFound):
        storage.delete_connection(tenant.env_id, "conn-9")


def test_delete_connection_removes_metadata_and_deletion_tracking(
    tenant: Tenant, storage: Storage
) -> None:
    storage.set_metadata(tenant.env_id, "conn-1", {"owner": "old"})
    storage.save_records(tenant.scope(), [rec("1", title="a"), rec("2", title="b")])
    tracking = tenant.scope()
    storage.track_deletes_start(tracking)

    storage.delete_connection(tenant.env_id, "conn-1")
    storage.create_connection(
        tenant.env_id, "github", "conn-1", credentials={}, connection_config={}, metadata={}
    )

    assert storage.get_connection(tenant.env_id, "conn-1").metadata == {}
    with pytest.raises(InvalidRequest) as caught:
        storage.track_deletes_end(tracking)  # the old run's tracking went with its connection
    assert caught.value.code == "track_deletes_not_started"
    assert storage.list_records(tenant.env_id, "conn-1", "Issue") == ([], "")


# ---- environments are separate ----


def test_nothing_crosses_environments(storage: Storage) -> None:
    acme = make_tenant(storage, "acme/prod")
    other = make_tenant(storage, "other/prod")
    storage.save_records(acme.scope(), [rec("1", owner="acme")])
    storage.save_records(other.scope(), [rec("1", owner="other")])
    storage.set_metadata(acme.env_id, "conn-1", {"owner": "acme"})
    storage.save_checkpoint(CheckpointKey(acme.env_id, "conn-1", "fetch"), {"owner": "acme"})
    storage.set_environment_variables(acme.env_id, [("TOKEN", "acme")])
    storage.replace_functions(acme.env_id, "github", [function("fetch")])
    run = storage.create_run(acme.env_id, new_run())

    found = storage.get_records_by_id(other.scope(), ["1"])
    assert {rid: record.json for rid, record in found.items()} == {
        "1": rec("1", owner="other").json
    }
    assert storage.get_connection(other.env_id, "conn-1").metadata == {}
    assert storage.get_checkpoint(CheckpointKey(other.env_id, "conn-1", "fetch")) is None
    assert storage.get_environment_variables(other.env_id) == []
    assert storage.list_functions(other.env_id) == []
    assert storage.list_runs(other.env_id) == []
    with pytest.raises(NotFound):
        storage.get_run(other.env_id, run.run_id)
    with pytest.raises(NotFound):
        storage.get_logs(other.env_id, run.run_id)
    with pytest.raises(NotFound):
        storage.get_function(other.env_id, "github", "fetch")


# ---- functions ----


@pytest.mark.storage_areas("tenants", "connections")
def test_a_connections_metadata_is_read_alone(tenant: Tenant, storage: Storage) -> None:
    storage.set_metadata(tenant.env_id, "conn-1", {"plan": {"n": 1}})
    other = make_tenant(storage, "other/prod")

    assert storage.get_metadata(tenant.env_id, "conn-1") == {"plan": {"n": 1}}
    assert storage.get_metadata(other.env_id, "conn-1") == {}
    with pytest.raises(NotFound) as caught:
        storage.get_metadata(tenant.env_id, "conn-9")
    assert caught.value.code == "unknown_connection"


@pytest.mark.storage_areas("tenants", "connections", "functions")
def test_a_connections_function_and_provider_come_in_one_read(
    tenant: Tenant, storage: Storage
) -> None:
    storage.replace_functions(tenant.env_id, "github", [function("fetch")])
    other = make_tenant(storage, "other/prod")

    found, provider = storage.get_connection_function(tenant.env_id, "conn-1", "fetch")

    assert found == storage.get_function(tenant.env_id, "github", "fetch")
    assert provider == storage.get_integration(tenant.env_id, "github").provider == "github"
    with pytest.raises(NotFound) as caught:
        storage.get_connection_function(tenant.env_id, "conn-1", "nope")
    assert caught.value.code == "unknown_function"
    assert "'github'" in caught.value.message
    with pytest.raises(NotFound) as caught:
        storage.get_connection_function(tenant.env_id, "conn-9", "fetch")
    assert caught.value.code == "unknown_connection"
    with pytest.raises(NotFound) as caught:  # another environment's connection of that name
        storage.get_connection_function(other.env_id, "conn-1", "fetch")
    assert caught.value.code == "unknown_function"


@pytest.mark.storage_areas("tenants", "connections", "functions")
def test_replace_functions_replaces_the_whole_set(tenant: Tenant, storage: Storage) -> None:
    storage.replace_functions(tenant.env_id, "github", [function("fetch"), function("old")])

    stored = storage.replace_functions(
        tenant.env_id, "github", [function("fetch", version="2.0.0"), function("act", "action")]
    )

    assert [f.name for f in stored] == ["act", "fetch"]
    assert storage.list_functions(tenant.env_id, "github") == stored
    fetch = storage.get_function(tenant.env_id, "github", "fetch")
    assert fetch.version == "2.0.0"
    assert fetch.integration_key == "github"
    assert fetch.deployed_at is not None
    assert fetch.files == {"fetch.py": "from nango import create_sync\n"}
    assert fetch.config == {"frequency": "every hour"}
    with pytest.raises(NotFound) as caught:
        storage.get_function(tenant.env_id, "github", "old")
    assert caught.value.code == "unknown_function"


@pytest.mark.storage_areas("tenants", "connections", "functions")
def test_replace_functions_is_atomic(tenant: Tenant, storage: Storage) -> None:
    before = storage.replace_functions(tenant.env_id, "github", [function("fetch")])

    with pytest.raises(InvalidRequest):
        storage.replace_functions(tenant.env_id, "github", [function("a"), function("a")])
    with pytest.raises(InvalidRequest):
        storage.replace_functions(tenant.env_id, "github", [function("a", kind="cron")])

    assert storage.list_functions(tenant.env_id) == before


@pytest.mark.storage_areas("tenants", "connections", "functions")
def test_replace_functions_can_refuse_to_remove_a_deployed_function(
    tenant: Tenant, storage: Storage
) -> None:
    before = storage.replace_functions(
        tenant.env_id, "github", [function("fetch"), function("old"), function("act", "action")]
    )

    with pytest.raises(InvalidRequest) as caught:
        storage.replace_functions(
            tenant.env_id, "github", [function("fetch", version="2.0.0")], refuse_removals=True
        )

    assert caught.value.code == "deploy_removes_functions"
    assert caught.value.details == {"removed": ["act", "old"]}
    assert storage.list_functions(tenant.env_id) == before  # nothing changed, not even fetch
    kept = storage.replace_functions(  # adding and changing is not removing
        tenant.env_id,
        "github",
        [function("fetch", version="2.0.0"), function("old"), function("act", "action"),
         function("new")],
        refuse_removals=True,
    )  # fmt: skip
    assert [f.name for f in kept] == ["act", "fetch", "new", "old"]
    with pytest.raises(InvalidRequest) as caught:  # one confirmed is not two
        storage.replace_functions(
            tenant.env_id, "github", [function("fetch")], refuse_removals=True,
            allow_removing=["old"],
        )  # fmt: skip
    assert caught.value.details == {"removed": ["act", "new", "old"]}
    confirmed = storage.replace_functions(
        tenant.env_id, "github", [function("fetch"), function("act", "action")],
        refuse_removals=True, allow_removing=["new", "old"],
    )  # fmt: skip
    assert [f.name for f in confirmed] == ["act", "fetch"]


@pytest.mark.storage_areas("tenants", "connections", "functions")
def test_replace_functions_touches_one_integration(tenant: Tenant, storage: Storage) -> None:
    storage.upsert_integration(
        tenant.env_id, "slack", provider="slack", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.replace_functions(tenant.env_id, "slack", [function("post", "action")])
    storage.replace_functions(tenant.env_id, "github", [function("fetch")])

    storage.replace_functions(tenant.env_id, "github", [])

    assert [f.name for f in storage.list_functions(tenant.env_id)] == ["post"]
    with pytest.raises(NotFound):
        storage.replace_functions(tenant.env_id, "gitlab", [])


# ---- environment variables ----


@pytest.mark.storage_areas("tenants", "connections")
def test_environment_variables_are_replaced_in_order(tenant: Tenant, storage: Storage) -> None:
    storage.set_environment_variables(tenant.env_id, [("B", "2"), ("A", "1")])
    assert storage.get_environment_variables(tenant.env_id) == [("B", "2"), ("A", "1")]

    storage.set_environment_variables(tenant.env_id, [("C", "3")])
    assert storage.get_environment_variables(tenant.env_id) == [("C", "3")]

    with pytest.raises(InvalidRequest):
        storage.set_environment_variables(tenant.env_id, [("X", "1"), ("X", "2")])
    assert storage.get_environment_variables(tenant.env_id) == [("C", "3")]


# ---- runs ----


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_run_lifecycle(tenant: Tenant, storage: Storage) -> None:
    run = storage.create_run(tenant.env_id, new_run())
    assert run.state == "queued"
    assert run.started_at is None

    storage.mark_run_started(run.run_id)
    started = storage.get_run(tenant.env_id, run.run_id)
    finished = storage.finish_run(run.run_id, True, '{"n":1}', None)

    assert started.state == "running"
    assert started.started_at is not None
    assert finished.state == "succeeded"
    assert finished.output_json == '{"n":1}'
    assert finished.error is None
    assert finished.finished_at is not None
    assert finished.finished_at > started.started_at


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_first_finish_wins(tenant: Tenant, storage: Storage) -> None:
    run = storage.create_run(tenant.env_id, new_run())
    error = {"type": "execution_timeout", "message": "took too long"}
    failed = storage.finish_run(run.run_id, False, None, error)

    late = storage.finish_run(run.run_id, True, '"late"', None)
    storage.mark_run_started(run.run_id)

    assert failed.state == "failed"
    assert failed.error == error
    assert late == failed
    assert storage.get_run(tenant.env_id, run.run_id) == failed


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_a_run_that_holds_its_slot_is_stored_running_in_one_write(
    tenant: Tenant, storage: Storage
) -> None:
    """The hot path (issue 13): no second transaction to mark the run started."""
    run = storage.create_run(tenant.env_id, replace(new_run(), started=True))

    assert run.state == "running"
    assert run.started_at is not None
    assert run.started_at == run.created_at
    storage.mark_run_started(run.run_id)  # a run past queued stays as it is
    assert storage.get_run(tenant.env_id, run.run_id) == run
    finished = storage.finish_run(run.run_id, True, "1", None)
    assert (finished.state, finished.started_at) == ("succeeded", run.started_at)
    assert storage.end_unfinished_runs({"type": "orchestrator_restarted"}) == []


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_a_started_run_left_unfinished_is_ended_at_the_next_start(
    tenant: Tenant, storage: Storage
) -> None:
    run = storage.create_run(tenant.env_id, replace(new_run(), started=True))

    assert storage.end_unfinished_runs({"type": "orchestrator_restarted"}) == [run.run_id]
    assert storage.get_run(tenant.env_id, run.run_id).state == "failed"


@pytest.mark.storage_areas("tenants", "runs")
def test_a_run_of_an_unknown_environment_is_not_stored(storage: Storage) -> None:
    known, _ = storage.create_environment("acme/prod")

    with pytest.raises(NotFound) as caught:
        storage.create_run(known.id + 1000, new_run())

    assert caught.value.code == "unknown_environment"
    assert storage.list_runs(known.id) == []
    assert storage.create_run(known.id, new_run()).env_id == known.id


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_unknown_run_is_not_found(tenant: Tenant, storage: Storage) -> None:
    for call in (
        lambda: storage.get_run(tenant.env_id, "nope"),
        lambda: storage.mark_run_started("nope"),
        lambda: storage.finish_run("nope", True, None, None),
        lambda: storage.append_logs("nope", [LogLine("info", "x")]),
    ):
        with pytest.raises(NotFound) as caught:
            call()
        assert caught.value.code == "unknown_run"


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_list_runs_newest_first_with_filters(tenant: Tenant, storage: Storage) -> None:
    first = storage.create_run(tenant.env_id, new_run("fetch"))
    second = storage.create_run(tenant.env_id, new_run("act", "conn-2"))
    child = NewRun("fetch", "github", "sync", "conn-1", "v2", "{}", second.run_id)
    third = storage.create_run(tenant.env_id, child)

    assert storage.list_runs(tenant.env_id) == [third, second, first]
    assert storage.list_runs(tenant.env_id, limit=2) == [third, second]
    assert storage.list_runs(tenant.env_id, connection_id="conn-1") == [third, first]
    assert storage.list_runs(tenant.env_id, function_name="act") == [second]
    assert third.parent_run_id == second.run_id
    assert third.variant == "v2"


# ---- logs ----


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_logs_are_numbered_and_kept_in_order(tenant: Tenant, storage: Storage) -> None:
    run = storage.create_run(tenant.env_id, new_run())
    at = START + timedelta(hours=1)

    storage.append_logs(run.run_id, [LogLine("info", "one", '{"k":1}', at), LogLine("warn", "two")])
    storage.append_logs(run.run_id, [LogLine("error", "three")])

    lines = storage.get_logs(tenant.env_id, run.run_id)
    assert [(line.seq, line.level, line.message) for line in lines] == [
        (1, "info", "one"),
        (2, "warn", "two"),
        (3, "error", "three"),
    ]
    assert lines[0].meta_json == '{"k":1}'
    assert lines[0].timestamp == at
    assert lines[1].timestamp is not None


@pytest.mark.storage_areas("tenants", "connections", "runs")
def test_logs_beyond_the_cap_leave_one_marker_line(
    engine: str, tmp_path: pathlib.Path, clock: Clock
) -> None:
    with open_engine(engine, tmp_path, clock, max_log_lines=5) as storage:
        tenant = make_tenant(storage)
        run = storage.create_run(tenant.env_id, new_run())

        storage.append_logs(run.run_id, [LogLine("info", f"a{i}") for i in range(3)])
        storage.append_logs(run.run_id, [LogLine("info", f"b{i}") for i in range(4)])
        storage.append_logs(run.run_id, [LogLine("info", f"c{i}") for i in range(2)])
        lines = storage.get_logs(tenant.env_id, run.run_id)

    assert [line.message for line in lines[:5]] == ["a0", "a1", "a2", "b0", "b1"]
    assert len(lines) == 6
    assert lines[5].seq == 6
    assert lines[5].level == "warn"
    assert lines[5].message.startswith("4 log line(s) dropped")
    assert lines[5].meta_json == '{"dropped":4}'


# ---- checkpoints ----


@pytest.mark.storage_areas("tenants", "connections", "checkpoints")
def test_checkpoint_save_get_clear(tenant: Tenant, storage: Storage) -> None:
    key = CheckpointKey(tenant.env_id, "conn-1", "fetch")
    assert storage.get_checkpoint(key) is None
    assert storage.get_checkpoint_versioned(key) == (None, 0)

    assert storage.save_checkpoint(key, {"cursor": "abc"}) == 1
    assert storage.save_checkpoint(key, {"cursor": "def"}) == 2
    assert storage.get_checkpoint(key) == {"cursor": "def"}

    storage.clear_checkpoint(key)
    assert storage.get_checkpoint_versioned(key) == (None, 3)
    assert storage.save_checkpoint(key, {"cursor": "x"}, expected_version=3) == 4


@pytest.mark.storage_areas("tenants", "connections", "checkpoints")
def test_checkpoint_stale_version_conflicts(tenant: Tenant, storage: Storage) -> None:
    key = CheckpointKey(tenant.env_id, "conn-1", "fetch")
    version = storage.save_checkpoint(key, {"page": 1}, expected_version=0)
    storage.save_checkpoint(key, {"page": 2}, expected_version=version)

    with pytest.raises(CheckpointConflict) as caught:
        storage.save_checkpoint(key, {"page": 99}, expected_version=version)

    assert caught.value.code == "checkpoint_conflict"
    assert caught.value.details == {"expected_version": 1, "current_version": 2}
    assert storage.get_checkpoint(key) == {"page": 2}


@pytest.mark.storage_areas("tenants", "connections", "checkpoints")
def test_cleared_checkpoint_does_not_reuse_versions(tenant: Tenant, storage: Storage) -> None:
    key = CheckpointKey(tenant.env_id, "conn-1", "fetch")
    seen = storage.save_checkpoint(key, {"page": 1})
    storage.clear_checkpoint(key)
    storage.save_checkpoint(key, {"page": 1})

    with pytest.raises(CheckpointConflict):
        storage.save_checkpoint(key, {"page": 5}, expected_version=seen)


@pytest.mark.storage_areas("tenants", "connections", "checkpoints")
def test_checkpoints_by_function_and_variant(tenant: Tenant, storage: Storage) -> None:
    base = CheckpointKey(tenant.env_id, "conn-1", "fetch")
    variant = CheckpointKey(tenant.env_id, "conn-1", "fetch", "eu")
    other = CheckpointKey(tenant.env_id, "conn-1", "other")
    storage.save_checkpoint(base, {"v": "base"})
    storage.save_checkpoint(variant, {"v": "eu"})

    storage.reset_sync(tenant.env_id, "conn-1", "fetch", "")

    assert storage.get_checkpoint(base) is None
    assert storage.get_checkpoint(variant) == {"v": "eu"}
    assert storage.get_checkpoint(other) is None
    with pytest.raises(NotFound):
        storage.get_checkpoint(CheckpointKey(tenant.env_id, "conn-9", "fetch"))


def test_reset_sync_keeps_records(tenant: Tenant, storage: Storage) -> None:
    storage.save_records(tenant.scope(), [rec("1")])
    storage.save_checkpoint(CheckpointKey(tenant.env_id, "conn-1", "fetch"), {"p": 1})

    storage.reset_sync(tenant.env_id, "conn-1", "fetch", "")

    assert list(storage.get_records_by_id(tenant.scope(), ["1"])) == ["1"]


# ---- migrations and files ----


@pytest.mark.storage_areas("tenants", "sqlite_file")
def test_reopening_applies_no_migration_twice(engine: str, tmp_path: pathlib.Path) -> None:
    if engine != "sqlite":
        pytest.skip("reads the SQLite file")
    with open_engine(engine, tmp_path, Clock()) as storage:
        storage.create_environment("acme/prod")
    with open_engine(engine, tmp_path, Clock()) as storage:
        assert [e.name for e in storage.list_environments()] == ["acme/prod"]

    with sqlite3.connect(tmp_path / "corral.db") as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchone()
    conn.close()
    expected = [(m.version, m.name) for m in load_migrations("sqlite")]
    assert rows == expected
    assert mode == ("wal",)


def test_misnamed_or_duplicate_migrations_are_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "init.sql").write_text("SELECT 1;")
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "y" / "0001_b.sql").write_text("SELECT 1;")

    with pytest.raises(ValueError, match="NNNN_name"):
        load_migrations("x", tmp_path)
    with pytest.raises(ValueError, match="share a number"):
        load_migrations("y", tmp_path)


# ---- concurrency ----


def test_threads_saving_batches_concurrently(tenant: Tenant, storage: Storage) -> None:
    threads, batches, size = 8, 10, 50
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for batch in range(batches):
                records = [rec(f"{worker}-{batch}-{i}") for i in range(size)]
                counts = storage.save_records(tenant.scope(run_id=f"run-{worker}"), records)
                assert counts.added == size
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()

    assert errors == []
    records, next_cursor = storage.list_records(tenant.env_id, "conn-1", "Issue", limit=10_000)
    assert next_cursor == ""
    assert len(records) == threads * batches * size
    assert len({record.cursor for record in records}) == len(records)


@pytest.mark.storage_areas("tenants")
def test_closed_storage_is_unavailable(engine: str, tmp_path: pathlib.Path) -> None:
    with open_engine(engine, tmp_path, Clock()) as storage:
        storage.create_environment("acme/prod")
    worker_errors: list[BaseException] = []

    def use() -> None:
        try:
            storage.list_environments()
        except BaseException as exc:  # reported by the main thread
            worker_errors.append(exc)

    with pytest.raises(Unavailable) as caught:
        storage.list_environments()
    thread = threading.Thread(target=use)
    thread.start()
    thread.join()

    assert caught.value.code == "storage_closed"
    assert [type(exc) for exc in worker_errors] == [Unavailable]


@pytest.mark.storage_areas("tenants", "sqlite_file")
def test_a_write_waiting_too_long_is_unavailable(engine: str, tmp_path: pathlib.Path) -> None:
    if engine != "sqlite":
        pytest.skip("locks the SQLite file")
    with open_engine(engine, tmp_path, Clock(), busy_timeout_ms=50) as storage:
        blocker = sqlite3.connect(tmp_path / "corral.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(Unavailable) as caught:
                storage.create_environment("acme/prod")
            assert storage.list_environments() == []
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        storage.create_environment("acme/prod")

    assert caught.value.code == "storage_busy"
    assert caught.value.retryable
