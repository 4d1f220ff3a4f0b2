"""Hostile input on every Orchestrator RPC, against a real ``corral serve``.

The rule under test: bad input gets a clear, typed error and loses nothing; the orchestrator
never crashes on bad input, and a call that fails leaves the stored state as it was.

For every RPC, starting from a request that would work, one field at a time is replaced by a
hostile value of its type (bad strings, invalid JSON, JSON of the wrong shape, odd numbers,
malformed cursors and timestamps, absurd file maps, bad variable lists); every RPC also gets an
empty request, wrong or missing ``authorization`` metadata, and raw bytes that do not parse as
its request message. Every call must end OK or with a typed status (never UNKNOWN or INTERNAL),
and a refusal must carry an ErrorInfo of domain "corral" with a reason. A refused call to an
RPC that writes must leave the environment's stored configuration unchanged. After the barrage
the server still answers, no run is left running, and another environment is untouched.

The case lists are fixed (random bytes come from a seeded generator), so a failure names its
case and comes back on the next run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.support import fuzz, hostile
from tests.support.fake_api import FakeApi
from tests.support.fuzz import Case
from tests.support.service import Service

SERVICE = pb.DESCRIPTOR.services_by_name["Orchestrator"]
RPCS = [method.name for method in SERVICE.methods]
STREAMING = frozenset(m.name for m in SERVICE.methods if m.server_streaming)
WRITES = frozenset(
    {
        "Deploy",
        "CreateIntegration",
        "DeleteIntegration",
        "CreateConnection",
        "DeleteConnection",
        "SetMetadata",
        "UpdateMetadata",
        "SetEnvironmentVariables",
        "TriggerAction",
        "TriggerSync",
        "StartSync",
        "PauseSync",
        "DeliverWebhook",
        "CancelRun",
    }
)
"""RPCs that may change stored configuration: a refusal must leave it as it was."""

OBJECT_JSON_FIELDS = frozenset(
    {
        "auth_config_json",
        "credentials_json",
        "connection_config_json",
        "metadata_json",
        "legacy_config_json",
    }
)
"""``*_json`` fields that must hold a JSON object (the others take any JSON value)."""
NULLABLE_OBJECT_JSON_FIELDS = frozenset({"checkpoint_json"})
"""``*_json`` fields that hold a JSON object or null."""

_OPTIONS = [
    ("grpc.max_send_message_length", 64 << 20),
    ("grpc.max_receive_message_length", 64 << 20),
]

ECHO = """
from nango import create_action

def run(nango, input):
    return {'input': input, 'meta': nango.get_metadata()}

action = create_action(description='echo', version='1.0.0', exec=run)
"""

FAIL = """
from nango import ActionError, create_action

def run(nango, input):
    raise ActionError({'echo': input})

action = create_action(description='fail', version='1.0.0', exec=run)
"""

ITEMS = """
from nango import create_sync

def fetch(nango):
    nango.batch_save([{'id': '1', 'n': 1}, {'id': '2', 'n': 2}], 'Item')
    nango.save_checkpoint({'page': 2})

def on_webhook(nango, payload):
    nango.batch_save([{'id': 'w', 'payload': payload}], 'Item')

sync = create_sync(description='items', version='1.0.0', frequency='every hour',
                   auto_start=False, exec=fetch, on_webhook=on_webhook,
                   webhook_subscriptions=['*'])
"""

CHECK = """
from nango import create_on_event

def check(nango):
    if nango.get_metadata().get('reject'):
        raise ValueError('rejected by the validator')

on_event = create_on_event(event='validate-connection', exec=check)
"""

PING = """
from nango import create_action

def run(nango, input):
    return 'pong'

action = create_action(description='ping', exec=run)
"""

FUZZ_FILES = {"echo.py": ECHO, "fail.py": FAIL, "items.py": ITEMS}


@dataclass
class World:
    """The service, its two environments, and what the fuzz refers to."""

    service: Service
    channel: grpc.Channel
    key: str
    other_key: str
    db: str
    env_id: int
    other_env_id: int
    run_id: str
    counter: list[int] = field(default_factory=lambda: [0])

    def unique(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}-{self.counter[0]}"


# ---- calling ----


def _barrage(world: World, cases: list[Case]) -> list[str]:
    metadata = (("authorization", f"Bearer {world.key}"),)
    return fuzz.run_barrage(
        cases,
        lambda case: fuzz.call(
            world.channel, "corral.v1.Orchestrator", case, metadata, streaming=STREAMING
        ),
        writes=WRITES,
        snapshot=lambda: fuzz.db_state(world.db, world.env_id, fuzz.STABLE_QUERIES),
    )


# ---- the world ----


def _env_key(service: Service, name: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "corral",
            "env",
            "create",
            name,
            "--data-dir",
            str(service.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=os.environ,
    )
    return str(json.loads(result.stdout)["secret_key"])


def _env_id(db: str, name: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(
            conn.execute("SELECT id FROM environments WHERE name = ?", (name,)).fetchone()[0]
        )
    finally:
        conn.close()


def _set_up_tenant(client: Client, api: FakeApi, tag: str) -> str:
    client.call("Deploy", pb.DeployRequest(integration="fuzz", files=FUZZ_FILES))
    client.call("Deploy", pb.DeployRequest(integration="fuzz-conns", files={"check.py": CHECK}))
    client.call(
        "CreateIntegration", pb.CreateIntegrationRequest(unique_key="fuzz", base_url=api.url)
    )
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration="fuzz",
            connection_id="c1",
            credentials_json=json.dumps({"type": "API_KEY", "api_key": f"secret-{tag}"}),
            metadata_json=json.dumps({"tenant": tag}),
        ),
    )
    client.call(
        "SetEnvironmentVariables",
        pb.SetEnvironmentVariablesRequest(variables=[pb.EnvironmentVariable(name="T", value=tag)]),
    )
    client.call("TriggerSync", pb.TriggerSyncRequest(sync_name="items", connection_id="c1"))
    return str(
        client.call(
            "TriggerAction",
            pb.TriggerActionRequest(action_name="echo", connection_id="c1", input_json='{"x": 1}'),
        ).run_id
    )


@pytest.fixture(scope="module")
def world(service: Service, fake_api: FakeApi) -> Iterator[World]:
    other_key = _env_key(service, "fuzz-bystander")
    db = str(service.data_dir / "corral.db")
    with Client(service.address, service.secret_key, timeout=60) as client:
        run_id = _set_up_tenant(client, fake_api, "fuzzed")
    with Client(service.address, other_key, timeout=60) as other:
        _set_up_tenant(other, fake_api, "bystander")
    channel = grpc.insecure_channel(service.address, options=_OPTIONS)
    yield World(
        service,
        channel,
        service.secret_key,
        other_key,
        db,
        _env_id(db, "dev"),
        _env_id(db, "fuzz-bystander"),
        run_id,
    )
    channel.close()


@pytest.fixture(scope="module")
def bystander_before(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """The other environment's whole stored state before any hostile call."""
    return fuzz.db_state(world.db, world.other_env_id, fuzz.EVERYTHING_QUERIES)


# ---- requests that would work, one per RPC ----


def _trigger_sync(world: World) -> pb.TriggerSyncRequest:
    request = pb.TriggerSyncRequest(sync_name="items", connection_id="c1")
    setattr(request, "async", True)
    return request


_BASES: dict[str, Callable[[World], message.Message]] = {
    "Deploy": lambda w: pb.DeployRequest(integration="fuzz-deploy", files={"ping.py": PING}),
    "ListFunctions": lambda w: pb.ListFunctionsRequest(integration="fuzz"),
    "CreateIntegration": lambda w: pb.CreateIntegrationRequest(
        unique_key=w.unique("int"),
        provider="github",
        base_url="http://127.0.0.1:9",
        auth_mode="API_KEY",
        auth_config_json="{}",
    ),
    "ListIntegrations": lambda w: pb.ListIntegrationsRequest(),
    "DeleteIntegration": lambda w: pb.DeleteIntegrationRequest(unique_key=w.unique("absent")),
    "CreateConnection": lambda w: pb.CreateConnectionRequest(
        integration="fuzz-conns",
        connection_id=w.unique("conn"),
        credentials_json='{"type": "API_KEY", "api_key": "k"}',
        connection_config_json="{}",
        metadata_json="{}",
        base_url="http://127.0.0.1:9",
    ),
    "GetConnection": lambda w: pb.GetConnectionRequest(connection_id="c1"),
    "ListConnections": lambda w: pb.ListConnectionsRequest(integration="fuzz"),
    "DeleteConnection": lambda w: pb.DeleteConnectionRequest(connection_id=w.unique("absent")),
    "SetMetadata": lambda w: pb.SetMetadataRequest(
        connection_id="c1", metadata_json='{"tenant": "fuzzed"}'
    ),
    "UpdateMetadata": lambda w: pb.SetMetadataRequest(
        connection_id="c1", metadata_json='{"tenant": "fuzzed"}'
    ),
    "SetEnvironmentVariables": lambda w: pb.SetEnvironmentVariablesRequest(
        variables=[pb.EnvironmentVariable(name="T", value="fuzzed")]
    ),
    "TriggerAction": lambda w: pb.TriggerActionRequest(
        action_name="echo", connection_id="c1", input_json="{}"
    ),
    "TriggerSync": _trigger_sync,
    "StartSync": lambda w: pb.SyncScheduleRequest(sync_name="items", connection_id="c1"),
    "PauseSync": lambda w: pb.SyncScheduleRequest(sync_name="items", connection_id="c1"),
    "ListSyncSchedules": lambda w: pb.ListSyncSchedulesRequest(connection_id="c1"),
    "DeliverWebhook": lambda w: pb.DeliverWebhookRequest(
        integration="fuzz", connection_id="c1", event_type="ev", payload_json="{}"
    ),
    "GetRun": lambda w: pb.GetRunRequest(run_id=w.run_id),
    "CancelRun": lambda w: pb.CancelRunRequest(run_id=w.run_id),
    "ListRuns": lambda w: pb.ListRunsRequest(connection_id="c1", function_name="echo", limit=5),
    "GetRunLogs": lambda w: pb.GetRunLogsRequest(run_id=w.run_id),
    "ListRecords": lambda w: pb.ListRecordsRequest(connection_id="c1", model="Item", limit=5),
    "ListRunners": lambda w: pb.ListRunnersRequest(),
    "ListEnvironmentVariables": lambda w: pb.ListEnvironmentVariablesRequest(),
    "DryRun": lambda w: pb.DryRunRequest(
        connection_id="c1", files={"echo.py": ECHO}, entry="echo.py", input_json="{}"
    ),
}
"""For each RPC, a request that the fuzzed environment would serve (fresh names each time)."""


def _base(world: World, rpc: str) -> message.Message:
    assert rpc in _BASES, f"no base request for {rpc}: add one to _BASES"
    return _BASES[rpc](world)


# ---- hostile values per field ----

_INVALID = frozenset({grpc.StatusCode.INVALID_ARGUMENT})


def _file_maps() -> list[tuple[str, dict[str, str], frozenset[grpc.StatusCode]]]:
    ok = hostile.ALLOWED_CODES
    bad_names = [
        "../x.py",
        "__init__.py",
        "a/b.py",
        "1x.py",
        "x.txt",
        "x.py\n",
        "x",
        ".py",
        "\uff58.py",
        "x y.py",
        "x.PY",
        "x\x00.py",
        "",
        "a" * 200 + ".py",
        "nango.py",
        "json.py",
        "pydantic.py",
        "\u0441.py",
    ]
    maps: list[tuple[str, dict[str, str], frozenset[grpc.StatusCode]]] = [
        ("no_files", {}, _INVALID),
        ("thousands_of_files", {f"f{i}.py": "x = 1\n" for i in range(2000)}, _INVALID),
        ("too_big", {"big.py": "#" * (5 * hostile.MB)}, _INVALID),
        ("no_function", {"plain.py": "x = 1\n"}, _INVALID),
        ("syntax_error", {"ping.py": "def (:\n"}, _INVALID),
        ("nul_in_source", {"ping.py": PING + "\x00"}, _INVALID),
        ("deep_parens", {"ping.py": "x = " + "(" * 10_000 + ")" * 10_000 + "\n" + PING}, _INVALID),
        ("deep_unary", {"ping.py": "x = " + "-" * 100_000 + "1\n" + PING}, ok),
        ("forbidden_import", {"ping.py": "import os\n" + PING}, _INVALID),
        (
            "circular_import",
            {"ping.py": "from .other import y\n" + PING, "other.py": "from .ping import run\n"},
            ok,
        ),
        ("many_functions", {f"p{i}.py": PING for i in range(50)}, ok),
        ("big_but_allowed", {"ping.py": PING + "#" * (3 * hostile.MB) + "\n"}, ok),
    ]
    for name in bad_names:
        maps.append((f"name:{name[:20]!r}", {name: PING}, ok))
    return maps


def _legacy_maps() -> list[tuple[str, dict[str, str], frozenset[grpc.StatusCode]]]:
    maps = [(f"json:{label}", {"ping.py": text}, _INVALID) for label, text in hostile.JSON_INVALID]
    maps += [
        (f"shape:{label}", {"ping.py": text}, _INVALID) for label, text in hostile.JSON_NOT_OBJECT
    ]
    maps += [
        ("unknown_file", {"missing.py": "{}"}, _INVALID),
        ("bogus_kind", {"ping.py": '{"kind": "bogus"}'}, hostile.ALLOWED_CODES),
        ("models_number", {"ping.py": '{"kind": "action", "models": 5}'}, hostile.ALLOWED_CODES),
    ]
    return maps


def _variables() -> list[tuple[str, list[tuple[str, str]], frozenset[grpc.StatusCode]]]:
    ok = hostile.ALLOWED_CODES
    return [
        ("empty_name", [("", "v")], _INVALID),
        ("duplicate", [("A", "1"), ("A", "2")], _INVALID),
        ("nul_name", [("A\x00", "v")], ok),
        ("nul_value", [("A", "\x00")], ok),
        ("huge_value", [("A", hostile.HUGE)], ok),
        ("huge_name", [(hostile.HUGE, "v")], ok),
        ("many", [(f"V{i}", "v") for i in range(5000)], ok),
        ("space_name", [("a b", "v")], ok),
        ("emoji_name", [("\U0001f525", "v")], ok),
        ("confusable_duplicate", [("T", "1"), ("\u0422", "2")], ok),
    ]


def _string_values(name: str) -> list[tuple[str, str, frozenset[grpc.StatusCode]]]:
    ok = hostile.ALLOWED_CODES
    if name.endswith("_json"):
        values = [(f"json:{label}", text, _INVALID) for label, text in hostile.JSON_INVALID]
        for label, text in hostile.JSON_NOT_OBJECT:
            refused = name in OBJECT_JSON_FIELDS or (
                name in NULLABLE_OBJECT_JSON_FIELDS and text != "null"
            )
            values.append((f"shape:{label}", text, _INVALID if refused else ok))
        values += [(f"odd:{label}", text, ok) for label, text in hostile.JSON_ODD_OBJECTS]
        return values
    values = [(label, text, ok) for label, text in hostile.STRINGS]
    if name == "cursor":
        values += [(f"cursor:{label}", text, _INVALID) for label, text in hostile.CURSORS]
    if name == "modified_after":
        values += [(f"time:{label}", text, _INVALID) for label, text in hostile.TIMESTAMPS]
    if name == "filter":
        values += [(f"filter:{label}", text, ok) for label, text in hostile.FILTERS]
    if name == "base_url":
        values += [
            ("url:file", "file:///etc/passwd", _INVALID),
            ("url:javascript", "javascript:alert(1)", _INVALID),
            ("url:no_host", "http://", _INVALID),
            ("url:bad_port", "http://127.0.0.1:99999", _INVALID),
            ("url:space", "http://127.0.0.1:9/a b", _INVALID),
            ("url:userinfo", "http://user:pass@127.0.0.1:9", ok),
        ]
    return values


def _with(base: message.Message, mutate: Callable[[Any], None]) -> message.Message:
    request = type(base)()
    request.CopyFrom(base)
    mutate(request)
    return request


def _set_map(name: str, value: dict[str, str]) -> Callable[[Any], None]:
    def mutate(request: Any) -> None:
        target = getattr(request, name)
        target.clear()
        target.update(value)

    return mutate


def _set_field(name: str, value: Any) -> Callable[[Any], None]:
    return lambda request: setattr(request, name, value)


def _set_list(name: str, values: list[str]) -> Callable[[Any], None]:
    def mutate(request: Any) -> None:
        del getattr(request, name)[:]
        getattr(request, name).extend(values)

    return mutate


def _set_variables(pairs: list[tuple[str, str]]) -> Callable[[Any], None]:
    def mutate(request: Any) -> None:
        del request.variables[:]
        request.variables.extend(pb.EnvironmentVariable(name=n, value=v) for n, v in pairs)

    return mutate


def _field_cases(world: World, rpc: str) -> list[Case]:
    """One case per (field, hostile value), each on top of a request that would work."""
    base_of = lambda: _base(world, rpc)  # noqa: E731 - bases with fresh unique names
    fields = SERVICE.methods_by_name[rpc].input_type.fields
    cases = [Case(rpc, "empty_request", type(base_of())())]
    for fd in fields:
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            maps = _file_maps() if fd.name == "files" else _legacy_maps()
            cases += [
                Case(
                    rpc, f"{fd.name}={label}", _with(base_of(), _set_map(fd.name, value)), expect=e
                )
                for label, value, e in maps
            ]
        elif fd.name == "variables":
            cases += [
                Case(rpc, f"variables={label}", _with(base_of(), _set_variables(v)), expect=e)
                for label, v, e in _variables()
            ]
        elif fd.is_repeated and fd.type == descriptor.FieldDescriptor.TYPE_STRING:
            cases += [
                Case(
                    rpc,
                    f"{fd.name}=[{label}]",
                    _with(base_of(), _set_list(fd.name, [v])),
                    expect=hostile.ALLOWED_CODES,
                )
                for label, v in hostile.STRINGS
            ]
        elif fd.type == descriptor.FieldDescriptor.TYPE_STRING:
            cases += [
                Case(rpc, f"{fd.name}={label}", _with(base_of(), _set_field(fd.name, v)), expect=e)
                for label, v, e in _string_values(fd.name)
            ]
        elif fd.type == descriptor.FieldDescriptor.TYPE_INT32:
            cases += [
                Case(
                    rpc,
                    f"{fd.name}={label}",
                    _with(base_of(), _set_field(fd.name, v)),
                    expect=_INVALID if fd.name == "limit" and v < 0 else hostile.ALLOWED_CODES,
                )
                for label, v in hostile.INTS
            ]
        elif fd.type == descriptor.FieldDescriptor.TYPE_BOOL:
            cases.append(
                Case(rpc, f"{fd.name}=flipped", _with(base_of(), _set_field(fd.name, True)))
            )
        else:
            raise AssertionError(f"{rpc}.{fd.name}: no hostile values for this field type")
    return cases


def _extra_cases(world: World, rpc: str) -> list[Case]:
    """Cases a single field cannot express."""
    if rpc == "TriggerAction":
        fail = pb.TriggerActionRequest(action_name="fail", connection_id="c1")
        huge = json.dumps("x" * hostile.MB)
        return [
            Case(rpc, "fail_huge_payload", _with(fail, _set_field("input_json", huge))),
            Case(
                rpc,
                "fail_deep_payload",
                _with(fail, _set_field("input_json", "[" * 100 + "]" * 100)),
            ),
            Case(
                rpc,
                "sync_as_action",
                pb.TriggerActionRequest(action_name="items", connection_id="c1"),
            ),
        ]
    if rpc == "CreateConnection":
        return [
            Case(
                rpc,
                "validation_rejects",
                _with(_base(world, rpc), _set_field("metadata_json", '{"reject": true}')),
                expect=_INVALID,
            ),
            Case(rpc, "duplicate_id", _with(_base(world, rpc), _set_field("connection_id", "c1"))),
        ]
    if rpc == "TriggerSync":
        return [
            Case(
                rpc, "action_as_sync", pb.TriggerSyncRequest(sync_name="echo", connection_id="c1")
            ),
            Case(
                rpc,
                "reset_sync",
                pb.TriggerSyncRequest(sync_name="items", connection_id="c1", reset=True),
            ),
            Case(
                rpc,
                "empty_records_of_a_sync_without_models",
                pb.TriggerSyncRequest(
                    sync_name="items", connection_id="c1", reset=True, empty_records=True
                ),
                expect=_INVALID,
            ),
        ]
    if rpc == "DeliverWebhook":
        wrong = pb.DeliverWebhookRequest(integration="fuzz-conns", connection_id="c1")
        not_found = frozenset({grpc.StatusCode.NOT_FOUND})
        return [Case(rpc, "connection_of_other_integration", wrong, expect=not_found)]
    return []


# ---- the tests ----


@pytest.mark.parametrize("rpc", RPCS)
def test_every_field_of_every_rpc_refuses_hostile_values_with_a_typed_error(
    world: World, bystander_before: dict[str, Any], rpc: str
) -> None:
    cases = _field_cases(world, rpc) + _extra_cases(world, rpc)
    problems = _barrage(world, cases)
    assert not problems, fuzz.report(problems, cases)


def test_every_rpc_refuses_a_wrong_or_missing_secret_key(
    world: World, bystander_before: dict[str, Any]
) -> None:
    unauthenticated = frozenset({grpc.StatusCode.UNAUTHENTICATED})
    variants: list[tuple[str, tuple[tuple[str, str], ...]]] = [
        ("missing", ()),
        ("empty", (("authorization", ""),)),
        ("scheme_only", (("authorization", "Bearer"),)),
        ("blank_key", (("authorization", "Bearer    "),)),
        ("basic", (("authorization", f"Basic {world.key}"),)),
        ("wrong_key", (("authorization", "Bearer sk_wrong"),)),
        ("key_with_suffix", (("authorization", f"Bearer {world.key}x"),)),
        ("key_upper", (("authorization", f"Bearer {world.key.upper()}"),)),
        ("long_key", (("authorization", "Bearer sk_" + "x" * 2000),)),
        ("other_header", (("x-authorization", f"Bearer {world.key}"),)),
        (
            "wrong_after_right",
            (("authorization", f"Bearer {world.key}"), ("authorization", "Bearer sk_wrong")),
        ),
    ]
    cases = [
        Case(rpc, f"auth={label}", _base(world, rpc), metadata=metadata, expect=unauthenticated)
        for rpc in RPCS
        for label, metadata in variants
    ]
    problems = _barrage(world, cases)
    assert not problems, fuzz.report(problems, cases)


def test_every_rpc_refuses_bytes_that_are_not_its_request_message(
    world: World, bystander_before: dict[str, Any]
) -> None:
    cases = [
        Case(rpc, f"bytes={label}", data)
        for index, rpc in enumerate(RPCS)
        for label, data in hostile.garbage_messages(seed=index)
    ]
    # Garbage from a caller without a key is refused for the key first.
    cases += [Case(rpc, "bytes_without_key", b"\xff" * 8, metadata=()) for rpc in RPCS]
    problems = _barrage(world, cases)
    assert not problems, fuzz.report(problems, cases)


def _wait_for_runs_to_end(db: str, timeout: float) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + timeout
    while (live := fuzz.live_runs(db)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return live


def test_after_the_barrage_the_service_still_works_and_nothing_else_changed(
    world: World, bystander_before: dict[str, Any], fake_api: FakeApi
) -> None:
    health = health_pb2_grpc.HealthStub(world.channel)
    for name in ("", "corral.v1.Orchestrator"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert world.service.process.poll() is None, "the orchestrator exited"

    with Client(world.service.address, world.key, timeout=60) as client:
        client.call("Deploy", pb.DeployRequest(integration="after", files={"ping.py": PING}))
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="after", connection_id="after-1"),
        )
        response = client.call(
            "TriggerAction", pb.TriggerActionRequest(action_name="ping", connection_id="after-1")
        )
        assert json.loads(response.output_json) == "pong"

    assert _wait_for_runs_to_end(world.db, timeout=30) == []
    assert fuzz.db_state(world.db, world.other_env_id, fuzz.EVERYTHING_QUERIES) == bystander_before
    with Client(world.service.address, world.other_key, timeout=60) as other:
        echoed = other.call(
            "TriggerAction", pb.TriggerActionRequest(action_name="echo", connection_id="c1")
        )
        assert json.loads(echoed.output_json)["meta"] == {"tenant": "bystander"}
