"""Adding an SDK operation touches the proto, the servicer, the SDK and the stubs, and nothing
else: the runner's host side knows the RunnerCallbacks service only through its descriptor.

- the host's allow-list is the service's RPCs, every one (all of them are SDK operations);
- the modules between the worker and the orchestrator (frame checks, request checks, the
  per-run wrappers, the forwarding, the host) name no RPC and no SDK operation: a new RPC
  passes through them unchanged;
- the SDK's encoding (the worker side) has one entry per RPC, and each builds that RPC's
  request type.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re

import pytest

from corral.v1 import callbacks_pb2 as pb
from runner.host import _calls
from runner.host._host import Job, RunnerHost
from runner.sdk import _wire as _sdk_wire
from tests.runner.sdk_support import Scripted, error_of, run

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICE = pb.DESCRIPTOR.services_by_name["RunnerCallbacks"]
RPCS = set(SERVICE.methods_by_name)

GENERIC = [
    "runner/host/_calls.py",
    "runner/host/_frames.py",
    "runner/host/_forward.py",
    "runner/host/_host.py",
    "runner/_protocol.py",
    "runner/host/_run_calls.py",
]
"""The modules an SDK call passes through between the worker and the orchestrator."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def test_the_allow_list_is_every_rpc_of_the_service() -> None:
    assert set(_calls.WORKER_RPCS) == RPCS
    assert len(RPCS) == 18


@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_each_rpc_parses_into_its_own_request_type(rpc: str) -> None:
    method = SERVICE.methods_by_name[rpc]
    parsed = _calls.parse_request(rpc, b"")
    assert parsed.DESCRIPTOR.full_name == method.input_type.full_name


@pytest.mark.parametrize("path", GENERIC)
def test_the_path_between_worker_and_orchestrator_names_no_operation(path: str) -> None:
    names = RPCS | {_snake(rpc) for rpc in RPCS}
    tree = ast.parse((ROOT / path).read_text())
    named = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
    }
    attributes = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in RPCS
    }
    assert not named, f"{path} names SDK operations {sorted(named)}"
    assert not attributes, f"{path} calls RPCs by name {sorted(attributes)}"


SAMPLE = {
    "model": "M",
    "records": [{"id": 1}],
    "ids": ["1"],
    "metadata": {},
    "checkpoint": {},
    "name": "other",
    "endpoint": "/x",
    "include": [],
    "meta": [],
}
"""Arguments enough for any SDK operation."""


@pytest.mark.parametrize("method", sorted(_sdk_wire._REQUESTS))
def test_the_sdk_encodes_each_operation_as_its_rpcs_request(method: str) -> None:
    ((rpc, request),) = _sdk_wire.requests(method, dict(SAMPLE))
    assert method == _snake(rpc)
    assert SERVICE.methods_by_name[rpc].input_type == request.DESCRIPTOR
    assert _calls.parse_request(rpc, request.SerializeToString()) == request


def test_the_sdk_has_one_operation_per_rpc() -> None:
    assert {rpc for rpc, _build in _sdk_wire._REQUESTS.values()} == RPCS
    assert len(_sdk_wire._REQUESTS) == len(RPCS)


def test_an_sdk_call_reaches_the_host_as_the_message_the_sdk_built() -> None:
    args = {"model": "M", "records": [{"id": 7, "name": "é"}]}
    ((rpc, request),) = _sdk_wire.requests("batch_save", args)
    checked = _calls.parse_request(rpc, request.SerializeToString())
    assert checked == request
    assert isinstance(checked, pb.RecordBatch)
    assert json.loads(checked.records_json) == [{"id": 7, "name": "é"}]
    assert not checked.records  # the batch is one JSON array, not a message per record


REACHES_FOR_THE_MESSAGES = """
from nango import create_action
from corral.v1 import callbacks_pb2

def run(nango, input):
    return callbacks_pb2.Empty().SerializeToString().hex()

action = create_action(description="x", exec=run)
"""


def test_function_code_cannot_reach_the_generated_messages(sdk_host: RunnerHost) -> None:
    handler = Scripted()
    error = error_of(run(sdk_host, {"f.py": REACHES_FOR_THE_MESSAGES}, handler))
    assert error["type"] == "sandbox_violation", error
    assert error["payload"] == {"rule": "import"}
    assert handler.calls == []


def test_the_sdk_works_in_a_contained_worker_with_the_messages_imported_before(
    sdk_host: RunnerHost,
) -> None:
    source = """
from nango import create_action

def run(nango, input):
    nango.batch_save([{"id": 1, "v": "é"}], "M")
    nango.save_checkpoint({"after": "x"})
    return nango.get_checkpoint()

action = create_action(description="x", exec=run)
"""
    handler = Scripted({"get_checkpoint": {"after": "x"}})
    outcome = run(sdk_host, {"f.py": source}, handler)
    assert outcome.ok, outcome.error
    assert outcome.output == {"after": "x"}
    assert [name for name, _args in handler.calls] == [
        "batch_save",
        "save_checkpoint",
        "get_checkpoint",
    ]
    assert handler.args_of("batch_save") == [{"model": "M", "records": [{"id": 1, "v": "é"}]}]


def test_a_batch_larger_than_a_frame_goes_in_frames_that_fit(sdk_host: RunnerHost) -> None:
    source = """
from nango import create_action

def run(nango, input):
    nango.batch_save([{"id": n, "pad": "x" * 1000} for n in range(300)], "M")
    return "saved"

action = create_action(description="x", exec=run)
"""
    handler = Scripted()
    job = Job(
        run_id="r-frames",
        kind="action",
        function_name="f",
        entry="f.py",
        files={"f.py": source},
        max_output_bytes=100_000,
    )
    outcome = sdk_host.execute(job, handler)
    assert outcome.ok, outcome.error
    batches = handler.args_of("batch_save")
    assert len(batches) >= 4  # 300 KB of records, in frames of at most 100 KB of base64
    assert [r["id"] for b in batches for r in b["records"]] == list(range(300))
