"""NUL (U+0000) in what the store is given, on every engine alike (``orchestrator._text_values``).

PostgreSQL's TEXT refuses the NUL byte and its JSONB the ``\\u0000`` escape; SQLite keeps both.
Both engines must answer the same: a JSON value holding NUL is refused with its field's code, a
name holding NUL is refused where it is written and unknown where it is looked up, and what a
run produced (its logs, its error, its output) is stored with each NUL as U+FFFD. Never an
internal error, on either engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from corral.errors import CorralError, InvalidRequest, NotFound
from orchestrator.storage._areas import (
    CheckpointKey,
    FunctionRow,
    LogLine,
    NewRun,
    RecordScope,
    Storage,
)
from tests.orchestrator.storage_support import Tenant, rec

NUL_VALUES: list[Any] = [{"a": "x\x00y"}, {"a\x00": 1}, {"a": [{"b": ["\x00"]}]}]
"""A NUL in a string, in a key, deep inside."""


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(CorralError) as caught:
        call()
    assert isinstance(caught.value, InvalidRequest | NotFound), caught.value
    assert "\x00" not in caught.value.message.replace("\\x00", "")
    return caught.value.code


@pytest.mark.parametrize("value", NUL_VALUES)
def test_json_values_holding_nul_are_refused_with_their_fields_code(
    storage: Storage, tenant: Tenant, value: Any
) -> None:
    env = tenant.env_id
    key = CheckpointKey(env, "conn-1", "items", "base")
    expected = {
        "invalid_metadata": [
            lambda: storage.set_metadata(env, "conn-1", value),
            lambda: storage.update_metadata(env, "conn-1", value),
            lambda: storage.create_connection(
                env, "github", "c2", credentials={}, connection_config={}, metadata=value
            ),
        ],
        "invalid_credentials": [
            lambda: storage.update_credentials(env, "conn-1", value),
            lambda: storage.create_connection(
                env, "github", "c3", credentials=value, connection_config={}, metadata={}
            ),
        ],
        "invalid_connection_config": [
            lambda: storage.create_connection(
                env, "github", "c4", credentials={}, connection_config=value, metadata={}
            )
        ],
        "invalid_auth_config": [
            lambda: storage.upsert_integration(
                env, "gh2", provider="x", base_url="", auth_mode="NONE", auth_config=value
            )
        ],
        "invalid_settings": [lambda: storage.set_environment_settings(env, value)],
        "invalid_checkpoint": [lambda: storage.save_checkpoint(key, value)],
        "invalid_deploy": [
            lambda: storage.replace_functions(
                env, "github", [FunctionRow("f", "action", "1", "", value, {}, "f.py", "h")]
            )
        ],
    }
    for code, calls in expected.items():
        for call in calls:
            assert _code(call) == code
    # Nothing of it was stored.
    assert storage.get_metadata(env, "conn-1") == {}
    assert [c.connection_id for c in storage.list_connections(env)] == ["conn-1"]
    assert storage.get_checkpoint(key) is None


def test_names_holding_nul_are_refused_when_written(storage: Storage, tenant: Tenant) -> None:
    env = tenant.env_id
    scope = tenant.scope(model="Is\x00sue")
    refused = {
        "invalid_name": [
            lambda: storage.create_environment("a\x00b"),
            lambda: storage.create_connection(
                env, "github", "c\x00", credentials={}, connection_config={}, metadata={}
            ),
            lambda: storage.upsert_integration(
                env, "g\x00h", provider="x", base_url="", auth_mode="NONE", auth_config={}
            ),
            lambda: storage.set_environment_variables(env, [("A\x00", "v")]),
            lambda: storage.replace_functions(
                env, "github", [FunctionRow("f\x00", "action", "1", "", {}, {}, "f.py", "h")]
            ),
        ],
        "invalid_variable": [lambda: storage.set_environment_variables(env, [("A", "v\x00")])],
        "invalid_sync_record": [
            lambda: storage.save_records(scope, [rec("1")]),
            lambda: storage.save_records(tenant.scope(), [rec("1\x00")]),
            lambda: storage.delete_records(scope, ["1"]),
            lambda: storage.delete_records(tenant.scope(), ["1\x00"]),
            lambda: storage.update_records(scope, [("1", b"{}")]),
            lambda: storage.update_records(tenant.scope(), [("1\x00", b"{}")]),
            lambda: storage.track_deletes_start(scope),
            lambda: storage.track_deletes_end(scope),
        ],
    }
    for code, calls in refused.items():
        for call in calls:
            assert _code(call) == code


def test_names_holding_nul_are_unknown_when_looked_up(storage: Storage, tenant: Tenant) -> None:
    env = tenant.env_id
    storage.save_records(tenant.scope(), [rec("1")])
    run = storage.create_run(env, NewRun("items", "github", "sync", "conn-1", "base", "null"))
    unknown = {
        "unknown_connection": [
            lambda: storage.get_connection(env, "conn-1\x00"),
            lambda: storage.get_metadata(env, "conn-1\x00"),
            lambda: storage.delete_connection(env, "conn-1\x00"),
            lambda: storage.set_metadata(env, "conn-1\x00", {}),
            lambda: storage.update_metadata(env, "conn-1\x00", {}),
            lambda: storage.get_connection_function(env, "conn-1\x00", "items"),
            lambda: storage.list_records(env, "conn-1\x00", "Issue"),
        ],
        "unknown_integration": [
            lambda: storage.get_integration(env, "github\x00"),
            lambda: storage.delete_integration(env, "github\x00"),
        ],
        "unknown_function": [
            lambda: storage.get_function(env, "github", "items\x00"),
            lambda: storage.get_connection_function(env, "conn-1", "items\x00"),
        ],
        "unknown_run": [
            lambda: storage.get_run(env, run.run_id + "\x00"),
            lambda: storage.get_logs(env, run.run_id + "\x00"),
            lambda: storage.list_runs(env, before_run_id="\x00"),
            lambda: storage.append_logs("\x00", [LogLine("info", "m")]),
        ],
        "unknown_environment": [lambda: storage.get_environment("acme/prod\x00")],
        "unknown_schedule": [
            lambda: storage.set_schedule_state(env, "conn-1", "items\x00", "base", "paused")
        ],
    }
    for code, calls in unknown.items():
        for call in calls:
            assert _code(call) == code
    assert storage.list_runs(env, connection_id="conn-1\x00") == []
    for names in (("conn-1\x00", "github", "items"), ("conn-1", "github\x00", "items")):
        assert not storage.holds_function(env, *names)
    assert storage.list_runs(env, function_name="items\x00") == []
    assert storage.list_connections(env, "github\x00") == []
    assert storage.list_functions(env, "github\x00") == []
    assert storage.list_schedules(env, "conn-1\x00") == []
    assert storage.list_records(env, "conn-1", "Is\x00sue") == ([], "")
    assert list(storage.get_records_by_id(tenant.scope(), ["1\x00", "1"])) == ["1"]
    assert storage.get_records_by_id(RecordScope(env, "conn-1", "I\x00", "", "r"), ["1"]) == {}


def test_what_a_run_produced_is_stored_with_nul_as_the_replacement_character(
    storage: Storage, tenant: Tenant
) -> None:
    env = tenant.env_id
    run = storage.create_run(env, NewRun("echo", "github", "action", "conn-1", "base", "null"))
    storage.append_logs(run.run_id, [LogLine("info", "a\x00b", '{"k\x00":"\\u0000"}')])
    error = {
        "type": "action_script_failure",
        "message": "bad \x00",
        "payload": {"why\x00": ["\x00 nul"]},
    }
    finished = storage.finish_run(run.run_id, False, '"raw\x00"', error)
    (line,) = storage.get_logs(env, run.run_id)
    assert (line.message, line.meta_json) == ("a\ufffdb", '{"k\ufffd":"\\u0000"}')
    stored = storage.get_run(env, run.run_id)
    for seen in (finished, stored):
        assert seen.error == {
            "type": "action_script_failure",
            "message": "bad \ufffd",
            "payload": {"why\ufffd": ["\ufffd nul"]},
        }
        assert seen.output_json == '"raw\ufffd"'


def test_record_ids_and_models_holding_a_lone_surrogate_are_refused_typed(
    storage: Storage, tenant: Tenant
) -> None:
    """Neither driver can bind a lone surrogate (sqlite3 and psycopg raise
    ``UnicodeEncodeError``): the store refuses it before any statement, as it refuses NUL, and
    a lookup finds nothing (none is stored)."""
    storage.save_records(tenant.scope(), [rec("1")])
    bad = tenant.scope(model="Is\ud800sue")
    digest = "11" * 32
    calls: list[Callable[[], object]] = [
        lambda: storage.save_records(bad, [rec("1")]),
        lambda: storage.save_records(tenant.scope(), [rec("1\udfff")]),
        lambda: storage.save_unchanged(tenant.scope(), [("\ud800", digest)]),
        lambda: storage.delete_records(tenant.scope(), ["\ud800"]),
        lambda: storage.delete_records(bad, ["1"]),
        lambda: storage.update_records(tenant.scope(), [("\ud800", b"{}")]),
        lambda: storage.track_deletes_start(bad),
    ]
    for call in calls:
        assert _code(call) == "invalid_sync_record"
    assert list(storage.get_records_by_id(tenant.scope(), ["\ud800", "1"])) == ["1"]
    assert storage.get_records_by_id(bad, ["1"]) == {}
