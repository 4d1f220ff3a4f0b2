"""Hostile input on every RunnerCallbacks RPC, served by a real gRPC server in this process.

The callbacks service trusts nothing in a request: only the run token decides what a call may
touch. Here every RPC gets, on top of a request that would work, one hostile field at a time
(bad strings, bad JSON bytes, bad records, odd numbers, bad headers), with the token of a sync
run and of a dry run; wrong, missing, revoked and expired tokens; an action's token where only
syncs may write; and bytes that do not parse as its message. Every call must end OK or with a
typed status carrying a corral ErrorInfo; a refused call must leave the store as it was; what
was stored must still be readable through the public views; and the other environment must
be untouched. The runner is a stub that echoes its input, so nested actions run for real
without a worker.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import descriptor, message

from corral._server import build_server
from corral.v1 import callbacks_pb2 as pb
from corral.v1 import callbacks_pb2_grpc, runner_pb2
from orchestrator._clock import FakeClock
from orchestrator.api._views import record_pb
from orchestrator.callbacks._run_auth import RunTokenAuth
from orchestrator.callbacks._service import CallbacksService
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._egress import EgressPolicy, pinned_transport
from orchestrator.proxy._proxy import Proxy
from orchestrator.runs._dry_sessions import DRY_KIND, DrySession, DrySessions
from orchestrator.runs._manager import RunManager
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import FunctionRow, NewRun
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.storage_support import Clock, open_engine
from tests.support import fuzz, hostile
from tests.support.fake_api import FakeApi, running_fake_api
from tests.support.fuzz import Case

SERVICE = pb.DESCRIPTOR.services_by_name["RunnerCallbacks"]
RPCS = [method.name for method in SERVICE.methods]
TOKEN = "x-corral-run-token"
WRITES = frozenset(
    {
        "SetMetadata",
        "UpdateMetadata",
        "SaveCheckpoint",
        "ClearCheckpoint",
        "BatchSave",
        "BatchDelete",
        "BatchUpdate",
        "TrackDeletesStart",
        "TrackDeletesEnd",
        "TriggerAction",
    }
)
SYNC_ONLY = frozenset(
    {
        "GetCheckpoint",
        "SaveCheckpoint",
        "ClearCheckpoint",
        "BatchSave",
        "BatchDelete",
        "BatchUpdate",
        "GetRecordsById",
        "TrackDeletesStart",
        "TrackDeletesEnd",
    }
)
"""RPCs only a sync's (or a dry run's) token may call."""
DRY_PATHS = frozenset(
    {
        "Proxy",
        "Log",
        "GetMetadata",
        "SetMetadata",
        "UpdateMetadata",
        "GetCheckpoint",
        "SaveCheckpoint",
        "ClearCheckpoint",
        "BatchSave",
        "BatchDelete",
        "BatchUpdate",
        "GetRecordsById",
    }
)
"""RPCs that take another path for a dry run's token: fuzzed with that token too."""
JSON_BYTES_FIELDS = frozenset({"json", "params_json", "meta_json", "input_json"})
INVALID = frozenset({grpc.StatusCode.INVALID_ARGUMENT})
UNAUTHENTICATED = frozenset({grpc.StatusCode.UNAUTHENTICATED})
PERMISSION_DENIED = frozenset({grpc.StatusCode.PERMISSION_DENIED})


class EchoRunner:
    """A runner that ends every run at once with its input as output."""

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        return runner_pb2.RunResponse(ok=True, output_json=request.input_json or "null")

    def cancel(self, run_id: str) -> bool:
        return False


@dataclass
class World:
    """The callback server, its store, and the tokens the cases carry."""

    channel: grpc.Channel
    storage: SqliteStorage
    db: str
    env_id: int
    other_env_id: int
    tokens: dict[str, str]
    scope_runs: list[str]
    """The runs the tokens belong to (queued by the test itself, never run)."""


def _record(record_id: str, data: bytes) -> pb.Record:
    return pb.Record(id=record_id, json=data, content_hash=hashlib.sha256(data).hexdigest())


def _seed(storage: SqliteStorage, api: FakeApi, name: str) -> int:
    env, _ = storage.create_environment(name)
    storage.upsert_integration(
        env.id, "shop", provider="shop", base_url=api.url, auth_mode="API_KEY", auth_config={}
    )
    storage.create_connection(
        env.id,
        "shop",
        "c1",
        credentials={"type": "API_KEY", "api_key": f"secret-{name}"},
        connection_config={},
        metadata={"who": name},
    )
    rows = [
        FunctionRow(name, kind, "1", "", {}, {f"{name}.py": ""}, f"{name}.py", "h")
        for name, kind in (("items", "sync"), ("echo", "action"))
    ]
    storage.replace_functions(env.id, "shop", rows)
    storage.set_environment_variables(env.id, [("T", name)])
    return env.id


def _scope(storage: SqliteStorage, env_id: int, name: str, kind: str) -> RunScope:
    run_id = "dry-fuzz"
    if kind != DRY_KIND:
        new = NewRun(name, "shop", kind, "c1", "base", "null")
        run_id = storage.create_run(env_id, new).run_id
    return RunScope(
        env_id=env_id,
        run_id=run_id,
        connection_id="c1",
        integration_key="shop",
        function_name=name,
        kind=kind,
        variant="base",
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = pathlib.Path(tmp_path_factory.mktemp("callbacks")) / "corral.db"
    with running_fake_api() as api:
        api.route("GET", "/items", body=[{"id": "1"}])
        storage = SqliteStorage(path)
        env_id, other_env_id = _seed(storage, api, "fuzzed"), _seed(storage, api, "bystander")
        tokens = RunTokens()
        # Every host name resolves to a documentation address that the policy refuses: no
        # case reaches anything but the fake API on 127.0.0.1.
        egress = EgressPolicy(
            allowed_hosts=frozenset({"127.0.0.1"}), resolver=lambda host, port: ["192.0.2.1"]
        )
        http = httpx.Client(transport=pinned_transport(egress))
        runs = RunManager(storage, tokens, EchoRunner())
        sessions = DrySessions()
        session = DrySession({"who": "dry"}, None, record=True)
        sessions.open("dry-fuzz", session)
        service = CallbacksService(
            storage,
            Proxy(http, FakeClock(), egress, timeout=5.0),
            ConnectionService(storage, http, FakeClock()),
            runs.run_nested,
            dry=sessions,
        )
        server, _ = build_server(
            [
                (
                    callbacks_pb2_grpc.add_RunnerCallbacksServicer_to_server,
                    service,
                    SERVICE.full_name,
                )
            ],
            interceptors=[RunTokenAuth(tokens, lambda env_id: f"env-{env_id}")],
        )
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        scopes = {
            "sync": _scope(storage, env_id, "items", "sync"),
            "action": _scope(storage, env_id, "echo", "action"),
            "dry": _scope(storage, env_id, "dry", DRY_KIND),
            "revoked": _scope(storage, env_id, "items", "sync"),
            "expired": _scope(storage, env_id, "items", "sync"),
        }
        named = {
            name: tokens.mint(scope, -1 if name == "expired" else 600)
            for name, scope in scopes.items()
        }
        tokens.revoke(named["revoked"])
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[
                ("grpc.max_send_message_length", 64 << 20),
                ("grpc.max_receive_message_length", 64 << 20),
            ],
        )
        # One record to update, read and delete, saved the way a run saves it.
        save = channel.unary_unary(
            f"/{SERVICE.full_name}/BatchSave",
            request_serializer=pb.RecordBatch.SerializeToString,
            response_deserializer=pb.RecordBatchResult.FromString,
        )
        batch = pb.RecordBatch(model="Item", records=[_record("1", b'{"id":"1","n":1}')])
        save(batch, metadata=((TOKEN, named["sync"]),), timeout=10)
        scope_runs = [scope.run_id for scope in scopes.values()]
        yield World(channel, storage, str(path), env_id, other_env_id, named, scope_runs)
        channel.close()
        server.stop(grace=None).wait()
        sessions.close("dry-fuzz")
        http.close()
        runs.shutdown(1.0)
        storage.close()


@pytest.fixture(scope="module")
def bystander_before(world: World) -> fuzz.State:
    return fuzz.db_state(world.db, world.other_env_id, fuzz.EVERYTHING_QUERIES)


# ---- requests that would work ----

_ITEM = _record("1", b'{"id":"1","n":2}')
_BASES: dict[str, Callable[[], message.Message]] = {
    "Proxy": lambda: pb.ProxyRequest(method="GET", endpoint="/items"),
    "Log": lambda: pb.LogRequest(level="info", message="hello", meta_json=b"[]", timestamp=1.0),
    "GetConnection": pb.GetConnectionCallRequest,
    "GetIntegration": lambda: pb.GetIntegrationCallRequest(include=["credentials"]),
    "GetEnvironmentVariables": pb.Empty,
    "GetMetadata": pb.Empty,
    "SetMetadata": lambda: pb.JsonValue(json=b'{"who": "fuzzed"}'),
    "UpdateMetadata": lambda: pb.JsonValue(json=b'{"seen": 1}'),
    "GetCheckpoint": pb.Empty,
    "SaveCheckpoint": lambda: pb.SaveCheckpointRequest(json=b'{"page": 1}'),
    "ClearCheckpoint": pb.Empty,
    "BatchSave": lambda: pb.RecordBatch(model="Item", records=[_ITEM]),
    "BatchDelete": lambda: pb.RecordBatch(model="Gone", records=[pb.Record(id="x")]),
    "BatchUpdate": lambda: pb.RecordBatch(model="Item", records=[_record("1", b'{"n":3}')]),
    "GetRecordsById": lambda: pb.GetRecordsByIdRequest(model="Item", ids=["1"]),
    "TrackDeletesStart": lambda: pb.ModelRequest(model="Tracked"),
    "TrackDeletesEnd": lambda: pb.ModelRequest(model="Tracked"),
    "TriggerAction": lambda: pb.TriggerActionCallRequest(action_name="echo", input_json=b"{}"),
}


# ---- hostile values per field ----


def _json_bytes() -> list[tuple[str, bytes, frozenset[grpc.StatusCode]]]:
    ok = hostile.ALLOWED_CODES
    values = [(f"json:{label}", text.encode(), ok) for label, text in hostile.JSON_INVALID]
    values += [(f"shape:{label}", text.encode(), ok) for label, text in hostile.JSON_NOT_OBJECT]
    values += [(f"odd:{label}", text.encode(), ok) for label, text in hostile.JSON_ODD_OBJECTS]
    values += [
        ("invalid_utf8", b'{"a": "\xff\xfe"}', ok),
        ("only_invalid_utf8", b"\xff\xfe\xfd", ok),
        ("utf16", '{"a": 1}'.encode("utf-16"), ok),
        ("utf8_bom", b'\xef\xbb\xbf{"a": 1}', ok),
        ("encoded_surrogate", b'{"a": "\xed\xa0\x80"}', ok),
        ("huge_object", json.dumps({"a": "x" * (3 * hostile.MB)}).encode(), ok),
    ]
    return values


_NOT_UTF8 = ("invalid_utf8", "only_invalid_utf8", "utf16", "utf8_bom", "encoded_surrogate")
_STRICT_JSON = {
    # (rpc, field): the classes refused for sure
    ("SetMetadata", "json"): ("json:", "shape:", *_NOT_UTF8),
    ("UpdateMetadata", "json"): ("json:", "shape:", *_NOT_UTF8),
    ("SaveCheckpoint", "json"): ("json:", "shape:", *_NOT_UTF8),
    ("TriggerAction", "input_json"): ("json:", *_NOT_UTF8),
    ("Proxy", "params_json"): ("json:", "shape:array", "shape:number", "shape:true", *_NOT_UTF8),
}


def _records() -> list[tuple[str, list[pb.Record], frozenset[grpc.StatusCode]]]:
    ok = hostile.ALLOWED_CODES
    cases: list[tuple[str, list[pb.Record], frozenset[grpc.StatusCode]]] = [
        ("empty_id", [_record("", b'{"id":""}')], INVALID),
        ("invalid_json", [_record("1", b'{"id":')], INVALID),
        ("invalid_utf8", [_record("1", b'{"id":"\xff"}')], INVALID),
        ("array", [_record("1", b"[1, 2]")], INVALID),
        ("string", [_record("1", b'"s"')], INVALID),
        ("empty_json", [_record("1", b"")], INVALID),
        ("deep", [_record("1", hostile.deep_object(10_000).encode())], INVALID),
        ("second_of_two_bad", [_ITEM, _record("2", b"nope")], INVALID),
        ("nan", [_record("1", b'{"id":"1","v":NaN}')], INVALID),
        ("lone_surrogate", [_record("1", b'{"id":"1","v":"\\ud800"}')], INVALID),
        ("wrong_hash", [pb.Record(id="1", json=b'{"id":"1"}', content_hash="0" * 64)], ok),
        ("no_hash", [pb.Record(id="1", json=b'{"id":"1"}')], ok),
        ("duplicate_ids", [_ITEM, _record("1", b'{"id":"1","n":9}')], ok),
        ("nul_id", [_record("a\x00b", b'{"id":"a\\u0000b"}')], ok),
        ("huge_id", [_record(hostile.HUGE, b"{}")], ok),
        ("huge_record", [_record("big", json.dumps({"a": "x" * (3 * hostile.MB)}).encode())], ok),
        ("too_many", [pb.Record(id=str(i), json=b"{}") for i in range(100_001)], INVALID),
        ("many", [_record(str(i), b'{"v":1}') for i in range(5000)], ok),
    ]
    return cases


def _records_json() -> list[tuple[str, bytes, bool, bool]]:
    """(label, records_json, refused, refused for deletes too: those read ids only)."""
    many = [{"id": str(i), "v": 1} for i in range(5000)]
    return [
        ("not_array", b'{"id":"1"}', True, True),
        ("not_json", b'[{"id":', True, True),
        ("not_utf8", b'[{"id":"\xff"}]', True, True),
        ("utf16", '[{"id":"1"}]'.encode("utf-16"), True, True),
        ("element_not_object", b'[{"id":"1"},2]', True, True),
        ("id_missing", b'[{"n":1}]', True, True),
        ("id_bool", b'[{"id":true}]', True, True),
        ("id_empty", b'[{"id":""}]', True, True),
        ("id_float", b'[{"id":1.5}]', True, True),
        ("id_object", b'[{"id":{"a":1}}]', True, True),
        ("deep", b"[" + hostile.deep_object(10_000).encode() + b"]", True, True),
        ("too_big", b'[{"id":"1","a":"' + b"x" * (16 << 20) + b'"}]', True, True),
        ("too_many", json.dumps([{"id": i} for i in range(100_001)]).encode(), True, True),
        ("nan", b'[{"id":"1","v":NaN}]', True, False),
        ("lone_surrogate", b'[{"id":"1","v":"\\ud800"}]', True, False),
        ("empty_array", b"[]", False, False),
        ("int_ids", b'[{"id":7},{"id":-3}]', False, False),
        ("duplicate_ids", b'[{"id":"1"},{"id":"1","n":9}]', False, False),
        ("nul_id", b'[{"id":"a\\u0000b"}]', False, False),
        ("many", json.dumps(many).encode(), False, False),
    ]


def _hashes_first() -> list[tuple[str, bytes, bytes, bool]]:
    """(label, ids_json, content_hashes, refused) of hashes-first batches (BatchSave only)."""
    item = hashlib.sha256(_ITEM.json).digest()
    many = [str(i) for i in range(5000)]
    return [
        ("stored", b'["1"]', item, False),
        ("wrong_hash", b'["1"]', bytes(32), False),
        ("unknown_id", b'["nope"]', item, False),
        ("nul_id", b'["a\\u0000b"]', item, False),
        ("huge_id", json.dumps([hostile.HUGE]).encode(), item, False),
        ("many", json.dumps(many).encode(), bytes(32 * len(many)), False),
        ("empty", b"[]", b"", False),
        ("not_json", b'["1"', item, True),
        ("not_utf8", b'["\xff"]', item, True),
        ("not_array", b'{"1": 1}', item, True),
        ("int_ids", b"[1]", item, True),
        ("empty_id", b'[""]', item, True),
        ("duplicate_ids", b'["1","1"]', item * 2, True),
        ("hash_short", b'["1"]', item[:31], True),
        ("hash_long", b'["1"]', item + b"x", True),
        ("hashes_alone", b"", item, True),
        ("deep", hostile.deep_object(10_000).encode(), item, True),
        ("too_many", json.dumps([str(i) for i in range(100_001)]).encode(), b"", True),
    ]


def _only_hashes(ids_json: bytes, digests: bytes) -> Callable[[Any], None]:
    def mutate(request: Any) -> None:
        del request.records[:]
        request.ids_json, request.content_hashes = ids_json, digests

    return mutate


def _only_records_json(data: bytes) -> Callable[[Any], None]:
    def mutate(request: Any) -> None:
        del request.records[:]
        request.records_json = data

    return mutate


def _headers() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        ("empty_name", [("", "v")]),
        ("nul_name", [("a\x00b", "v")]),
        ("crlf_value", [("x-a", "v\r\nX-Injected: 1")]),
        ("crlf_name", [("x-a\r\nx-b", "v")]),
        ("space_name", [("a b", "v")]),
        ("non_ascii", [("x-\u00e9", "\u00e9")]),
        ("huge_value", [("x-big", "v" * 100_000)]),
        ("host", [("Host", "evil.example")]),
        ("authorization", [("Authorization", "Bearer stolen")]),
        ("content_length", [("Content-Length", "-1")]),
        ("transfer_encoding", [("Transfer-Encoding", "chunked")]),
        ("many", [(f"x-h{i}", "v") for i in range(2000)]),
    ]


def _strings(rpc: str, name: str) -> list[tuple[str, str, frozenset[grpc.StatusCode]]]:
    values = [(label, text, hostile.ALLOWED_CODES) for label, text in hostile.STRINGS]
    if name == "base_url_override" or (rpc == "Proxy" and name == "endpoint"):
        values += [
            (f"url:{label}", url, hostile.ALLOWED_CODES)
            for label, url in (
                ("file", "file:///etc/passwd"),
                ("metadata_ip", "http://169.254.169.254/latest"),
                ("private_ip", "http://10.0.0.1"),
                ("ipv6_loopback", "http://[::1]:1"),
                ("hostname", "http://example.invalid"),
                ("userinfo", "http://user:pass@127.0.0.1:1"),
                ("bad_port", "http://127.0.0.1:99999"),
                ("no_scheme", "//127.0.0.1:1/x"),
                ("ftp", "ftp://127.0.0.1"),
            )
        ]
    return values


def _with(base: message.Message, mutate: Callable[[Any], None]) -> message.Message:
    request = type(base)()
    request.CopyFrom(base)
    mutate(request)
    return request


def _set(name: str, value: Any) -> Callable[[Any], None]:
    return lambda request: setattr(request, name, value)


def _replace(name: str, values: list[Any]) -> Callable[[Any], None]:
    def mutate(request: Any) -> None:
        target = getattr(request, name)
        del target[:]
        target.extend(values)

    return mutate


def _field_cases(rpc: str, token: str, prefix: str = "") -> list[Case]:  # noqa: PLR0912
    """One case per (field, hostile value), each on top of a request that would work."""
    metadata = ((TOKEN, token),)
    fields = SERVICE.methods_by_name[rpc].input_type.fields
    cases = [Case(rpc, f"{prefix}empty_request", type(_BASES[rpc]())(), metadata)]

    def add(label: str, mutate: Callable[[Any], None], expect: frozenset[Any]) -> None:
        request = _with(_BASES[rpc](), mutate)
        cases.append(Case(rpc, prefix + label, request, metadata, expect))

    for fd in fields:
        repeated = fd.is_repeated
        if fd.name == "records":
            for label, records, refused in _records():
                ids_only = rpc == "BatchDelete" and label not in ("empty_id", "too_many")
                expect = hostile.ALLOWED_CODES if ids_only else refused  # deletes read ids only
                add(f"records={label}", _replace("records", records), expect)
        elif fd.name == "records_json":
            add("records_json=with_records", _set(fd.name, b'[{"id":"1"}]'), INVALID)
            for label, data, refused, refused_ids in _records_json():
                ids_only = rpc == "BatchDelete"
                expect = (
                    INVALID if (refused_ids if ids_only else refused) else hostile.ALLOWED_CODES
                )
                add(f"records_json={label}", _only_records_json(data), expect)
        elif fd.name == "ids_json":
            add("ids_json=with_records", _set(fd.name, b'["1"]'), INVALID)
            for label, ids_json, digests, refused in _hashes_first():
                expect = INVALID if refused or rpc != "BatchSave" else hostile.ALLOWED_CODES
                add(f"hashes_first={label}", _only_hashes(ids_json, digests), expect)
        elif fd.name == "headers":
            for label, pairs in _headers():
                headers = [pb.Header(name=n, value=v) for n, v in pairs]
                add(f"headers={label}", _replace("headers", headers), hostile.ALLOWED_CODES)
        elif fd.type == descriptor.FieldDescriptor.TYPE_STRING and repeated:
            for label, text in hostile.STRINGS:
                add(f"{fd.name}=[{label}]", _replace(fd.name, [text]), hostile.ALLOWED_CODES)
            many = [str(i) for i in range(200_000)]
            add(f"{fd.name}=200000", _replace(fd.name, many), hostile.ALLOWED_CODES)
        elif fd.type == descriptor.FieldDescriptor.TYPE_STRING:
            for label, text, expect in _strings(rpc, fd.name):
                add(f"{fd.name}={label}", _set(fd.name, text), expect)
        elif fd.type == descriptor.FieldDescriptor.TYPE_BYTES and fd.name in JSON_BYTES_FIELDS:
            refused = _STRICT_JSON.get((rpc, fd.name), ())
            for label, data, _ in _json_bytes():
                expect = INVALID if label.startswith(refused) else hostile.ALLOWED_CODES
                add(f"{fd.name}={label}", _set(fd.name, data), expect)
        elif fd.type == descriptor.FieldDescriptor.TYPE_BYTES:
            for label, data in (
                ("invalid_utf8", b"\xff\xfe"),
                ("huge", b"x" * (3 * hostile.MB)),
                ("nul", b"\x00"),
            ):
                add(f"{fd.name}={label}", _set(fd.name, data), hostile.ALLOWED_CODES)
        elif fd.type == descriptor.FieldDescriptor.TYPE_INT32 and repeated:
            for label, values in (("odd", [-1, 0, 2**31 - 1]), ("not_found", [404] * 1000)):
                add(f"{fd.name}={label}", _replace(fd.name, values), hostile.ALLOWED_CODES)
        elif fd.type in (
            descriptor.FieldDescriptor.TYPE_INT32,
            descriptor.FieldDescriptor.TYPE_INT64,
        ):
            bits = 31 if fd.type == descriptor.FieldDescriptor.TYPE_INT32 else 63
            for label, value in (("minus_one", -1), ("min", -(2**bits)), ("max", 2**bits - 1)):
                add(f"{fd.name}={label}", _set(fd.name, value), hostile.ALLOWED_CODES)
        elif fd.type == descriptor.FieldDescriptor.TYPE_DOUBLE:
            for label, value in (
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("minus_inf", float("-inf")),
                ("huge", 1e300),
                ("minus_huge", -1e300),
                ("negative", -1.0),
            ):
                add(f"{fd.name}={label}", _set(fd.name, value), hostile.ALLOWED_CODES)
        elif fd.type == descriptor.FieldDescriptor.TYPE_BOOL:
            add(f"{fd.name}=flipped", _set(fd.name, True), hostile.ALLOWED_CODES)
        else:
            raise AssertionError(f"{rpc}.{fd.name}: no hostile values for this field type")
    return cases


def _barrage(world: World, cases: list[Case]) -> list[str]:
    return fuzz.run_barrage(
        cases,
        lambda case: fuzz.call(world.channel, SERVICE.full_name, case, (), timeout=30),
        writes=WRITES,
        snapshot=lambda: fuzz.db_state(
            world.db, world.env_id, {**fuzz.STABLE_QUERIES, **fuzz.DATA_QUERIES}
        ),
    )


# ---- the tests ----


@pytest.mark.parametrize("rpc", RPCS)
def test_every_field_of_every_callback_refuses_hostile_values_with_a_typed_error(
    world: World, bystander_before: fuzz.State, rpc: str
) -> None:
    cases = _field_cases(rpc, world.tokens["sync"])
    if rpc in DRY_PATHS:
        cases += _field_cases(rpc, world.tokens["dry"], prefix="dry:")
    problems = _barrage(world, cases)
    assert not problems, fuzz.report(problems, cases)


def test_every_callback_refuses_a_wrong_missing_or_ended_token(
    world: World, bystander_before: fuzz.State
) -> None:
    variants: list[tuple[str, fuzz.Metadata, frozenset[grpc.StatusCode]]] = [
        ("missing", (), UNAUTHENTICATED),
        ("empty", ((TOKEN, ""),), UNAUTHENTICATED),
        ("wrong", ((TOKEN, "rt_wrong"),), UNAUTHENTICATED),
        ("long", ((TOKEN, "rt_" + "x" * 4000),), UNAUTHENTICATED),
        ("revoked", ((TOKEN, world.tokens["revoked"]),), UNAUTHENTICATED),
        ("expired", ((TOKEN, world.tokens["expired"]),), UNAUTHENTICATED),
        ("secret_key_instead", (("authorization", "Bearer sk_x"),), UNAUTHENTICATED),
    ]
    cases = [
        Case(rpc, f"token={label}", _BASES[rpc](), metadata, expect)
        for rpc in RPCS
        for label, metadata, expect in variants
    ]
    action = ((TOKEN, world.tokens["action"]),)
    cases += [
        Case(rpc, "token=action", _BASES[rpc](), action, PERMISSION_DENIED)
        for rpc in RPCS
        if rpc in SYNC_ONLY
    ]
    problems = _barrage(world, cases)
    assert not problems, fuzz.report(problems, cases)


def test_every_callback_refuses_bytes_that_are_not_its_request_message(
    world: World, bystander_before: fuzz.State
) -> None:
    sync = ((TOKEN, world.tokens["sync"]),)
    cases = [
        Case(rpc, f"bytes={label}", data, sync)
        for index, rpc in enumerate(RPCS)
        for label, data in hostile.garbage_messages(seed=1000 + index)
    ]
    cases += [Case(rpc, "bytes_without_token", b"\xff" * 8, ()) for rpc in RPCS]
    problems = _barrage(world, cases)
    assert not problems, fuzz.report(problems, cases)


def test_concurrent_hostile_calls_leave_a_consistent_store(world: World) -> None:
    sync = ((TOKEN, world.tokens["sync"]),)
    saves = [
        pb.RecordBatch(model="Race", records=[_record(str(i % 7), b'{"v":1}')]) for i in range(40)
    ]
    patches = [
        pb.RecordBatch(model="Race", records=[_record(str(i % 7), b"[]")]) for i in range(40)
    ]
    cases = [Case("BatchSave", "concurrent_save", batch, sync) for batch in saves]
    cases += [
        Case("BatchUpdate", "concurrent_bad_patch", batch, sync, INVALID) for batch in patches
    ]
    problems: list[str] = []
    lock = threading.Lock()

    def work(chunk: list[Case]) -> None:
        for case in chunk:
            found = fuzz.problem(case, fuzz.call(world.channel, SERVICE.full_name, case, ()))
            if found:
                with lock:
                    problems.append(found)

    threads = [threading.Thread(target=work, args=(cases[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems, fuzz.report(problems, cases)


def test_after_the_barrage_the_store_is_readable_and_the_bystander_untouched(
    world: World, bystander_before: fuzz.State
) -> None:
    storage = world.storage
    for model in ("Item", "Race", "Gone", "Tracked"):
        cursor = ""
        while True:
            page, cursor = storage.list_records(world.env_id, "c1", model, cursor=cursor, limit=500)
            for record in page:
                record_pb(record)  # every stored record is still a JSON object
            if not cursor:
                break
    assert [run for run in fuzz.live_runs(world.db) if run[0] not in world.scope_runs] == []
    assert fuzz.db_state(world.db, world.other_env_id, fuzz.EVERYTHING_QUERIES) == bystander_before
    assert storage.get_connection(world.other_env_id, "c1").metadata == {"who": "bystander"}


NUL_CASES: list[tuple[str, message.Message, str]] = [
    ("Log", pb.LogRequest(level="info", message="a\x00b", meta_json=b'{"k":"\x00"}'), ""),
    ("SetMetadata", pb.JsonValue(json=b'{"a":"\\u0000"}'), "invalid_metadata"),
    ("UpdateMetadata", pb.JsonValue(json=b'{"a\\u0000":1}'), "invalid_metadata"),
    ("SaveCheckpoint", pb.SaveCheckpointRequest(json=b'{"a":["\\u0000"]}'), "invalid_checkpoint"),
    (
        "BatchSave",
        pb.RecordBatch(model="It\x00em", records_json=b'[{"id":"1"}]'),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", records_json=b'[{"id":"1\\u0000"}]'),
        "invalid_sync_record",
    ),
    ("BatchSave", pb.RecordBatch(model="Item", records_json=b'[{"id":"2","v":"\\u0000"}]'), ""),
    (
        "BatchDelete",
        pb.RecordBatch(model="It\x00em", records=[pb.Record(id="1")]),
        "invalid_sync_record",
    ),
    (
        "BatchDelete",
        pb.RecordBatch(model="Item", records=[pb.Record(id="1\x00")]),
        "invalid_sync_record",
    ),
    (
        "BatchUpdate",
        pb.RecordBatch(model="Item", records_json=b'[{"id":"1\\u0000"}]'),
        "invalid_sync_record",
    ),
    ("GetRecordsById", pb.GetRecordsByIdRequest(model="Item", ids=["1\x00"]), ""),
    (
        "GetRecordsById",
        pb.GetRecordsByIdRequest(model="I\x00tem", ids=["1"]),
        "invalid_sync_record",
    ),
    ("TrackDeletesStart", pb.ModelRequest(model="T\x00"), "invalid_sync_record"),
    ("TrackDeletesEnd", pb.ModelRequest(model="T\x00"), "invalid_sync_record"),
    ("TriggerAction", pb.TriggerActionCallRequest(action_name="ec\x00ho"), "unknown_function"),
]
"""A NUL in each field of a callback that reaches the store, and the code every engine answers
("" for OK): ``orchestrator._text_values``."""


def _engine_answers(
    engine: str, tmp_path: pathlib.Path, cases: list[tuple[str, message.Message, str]]
) -> tuple[list[str], list[Any]]:
    """Each case's answer ("" for OK, else its ErrorInfo reason or status) from a callback
    server on ``engine``, called with a sync run's token; and the run's log lines."""
    with open_engine(engine, tmp_path, Clock()) as storage:
        env, _ = storage.create_environment("nul")
        storage.upsert_integration(
            env.id,
            "shop",
            provider="shop",
            base_url="http://127.0.0.1:9",
            auth_mode="NONE",
            auth_config={},
        )
        storage.create_connection(
            env.id, "shop", "c1", credentials={}, connection_config={}, metadata={}
        )
        rows = [
            FunctionRow(n, k, "1", "", {}, {}, f"{n}.py", "h")
            for n, k in (("items", "sync"), ("echo", "action"))
        ]
        storage.replace_functions(env.id, "shop", rows)
        tokens = RunTokens()
        runs = RunManager(storage, tokens, EchoRunner())
        egress = EgressPolicy(allowed_hosts=frozenset(), resolver=lambda host, port: ["192.0.2.1"])
        http = httpx.Client(transport=pinned_transport(egress))
        service = CallbacksService(
            storage,
            Proxy(http, FakeClock(), egress, timeout=5.0),
            ConnectionService(storage, http, FakeClock()),
            runs.run_nested,
        )
        server, _ = build_server(
            [
                (
                    callbacks_pb2_grpc.add_RunnerCallbacksServicer_to_server,
                    service,
                    SERVICE.full_name,
                )
            ],
            interceptors=[RunTokenAuth(tokens, lambda env_id: f"env-{env_id}")],
        )
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        scope = _scope(storage, env.id, "items", "sync")  # type: ignore[arg-type]
        token = tokens.mint(scope, 600)
        answers = []
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                for rpc, request, _ in cases:
                    call = channel.unary_unary(
                        f"/{SERVICE.full_name}/{rpc}",
                        request_serializer=lambda m: m.SerializeToString(),
                        response_deserializer=lambda b: b,
                    )
                    try:
                        call(request, metadata=((TOKEN, token),), timeout=20)
                        answers.append("")
                    except grpc.RpcError as exc:
                        info = hostile.error_info(exc)
                        answers.append(info.reason if info else exc.code().name)
            logs = storage.get_logs(env.id, scope.run_id)
        finally:
            server.stop(None).wait()
            runs.shutdown(1.0)
            http.close()
    return answers, logs


def test_nul_in_callbacks_gets_the_same_typed_answer_on_every_engine(
    engine: str, tmp_path: pathlib.Path
) -> None:
    """PostgreSQL refuses NUL in TEXT and ``\\u0000`` in JSONB; SQLite keeps both. Each call
    answers the same code on both (it was INTERNAL on PostgreSQL), and a log line keeps its
    text with U+FFFD for each NUL."""
    answers, logs = _engine_answers(engine, tmp_path, NUL_CASES)
    assert answers == [code for _, _, code in NUL_CASES]
    assert [(line.message, line.meta_json) for line in logs] == [("a\ufffdb", '{"k":"\ufffd"}')]


SURROGATE_CASES: list[tuple[str, message.Message, str]] = [
    (
        "BatchSave",
        pb.RecordBatch(model="Item", ids_json=b'["\\ud800"]', content_hashes=b"\x11" * 32),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", ids_json=b'["ok", "\\udfff"]', content_hashes=b"\x11" * 64),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", ids_json=b'["a", NaN]', content_hashes=b"\x11" * 64),
        "invalid_sync_record",
    ),
    (
        "BatchDelete",
        pb.RecordBatch(model="Item", records_json=b'[{"id":"\\ud800"}]'),
        "invalid_sync_record",
    ),
    (
        "BatchDelete",
        pb.RecordBatch(model="Item", records_json=b'[{"id":"a","v":NaN}]'),
        "invalid_sync_record",
    ),
    (
        "BatchUpdate",
        pb.RecordBatch(model="Item", records_json=b'[{"id":"\\ud800","v":1}]'),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", records_json=b'[{"id":"\\ud800"}]'),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", records_json=b'[{"id":"a","v":Infinity}]'),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", records_json=b'[{"id":' + b"9" * 5000 + b"}]"),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", records_json=b"[" * 200 + b"]" * 200),
        "invalid_sync_record",
    ),
    (
        "BatchSave",
        pb.RecordBatch(model="Item", records=[_record("r", b'{"id":"\\ud800"}')]),
        "invalid_sync_record",
    ),
    ("BatchSave", pb.RecordBatch(model="Item", records_json=b'[{"id":"fine"}]'), ""),
]
"""JSON a breached runner host sends that plain ``json.loads`` reads (a lone surrogate, ``NaN``,
a 5,000-digit number, 200 levels): each was parsed so in ``orchestrator.callbacks._records``,
and an id holding a surrogate reached the store, whose driver raised ``UnicodeEncodeError``
(INTERNAL, on both engines)."""


def test_json_a_store_cannot_keep_gets_a_typed_answer_on_every_engine(
    engine: str, tmp_path: pathlib.Path
) -> None:
    answers, _ = _engine_answers(engine, tmp_path, SURROGATE_CASES)
    assert answers == [code for _, _, code in SURROGATE_CASES]
