"""The whole path of a run: serve, deploy, connect, trigger, through the real runner and sandbox."""

from __future__ import annotations

import json
import pathlib

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from corral.cli import Client
from corral.errors import CompileError, InvalidRequest, NotFound, RunFailure, Unauthenticated
from corral.v1 import callbacks_pb2, callbacks_pb2_grpc
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi
from tests.support.service import Service, corral

ROOT = pathlib.Path(__file__).resolve().parents[2]

ACTIONS = {
    "get_item.py": (
        "from nango import create_action\n"
        "from pydantic import BaseModel\n"
        "class In(BaseModel):\n"
        "    item_id: int\n"
        "class Out(BaseModel):\n"
        "    name: str\n"
        "    price_cents: int\n"
        "def run(nango, input):\n"
        "    response = nango.get(endpoint=f'/items/{input.item_id}', params={'expand': 'price'})\n"
        "    nango.log('fetched', {'id': input.item_id}, level='info')\n"
        "    cents = int(response.data['price'] * 100)\n"
        "    return Out(name=response.data['title'], price_cents=cents)\n"
        "action = create_action(\n"
        "    description='one item', version='1.0.0', input=In, output=Out, exec=run)\n"
    ),
    "refuse.py": (
        "from nango import create_action, ActionError\n"
        "def run(nango, input):\n"
        "    raise ActionError({'k': 'v'})\n"
        "action = create_action(description='always refuses', exec=run)\n"
    ),
    "refuse_text.py": (
        "from nango import create_action, ActionError\n"
        "def run(nango, input):\n"
        "    raise ActionError('out of stock')\n"
        "action = create_action(description='refuses in words', exec=run)\n"
    ),
}


@pytest.fixture(scope="module")
def deployed(service: Service, fake_api: FakeApi) -> str:
    fake_api.route("GET", "/items/7", body={"title": "Lamp", "price": 12.5})
    with Client(service.address, service.secret_key) as client:
        client.call("Deploy", pb.DeployRequest(integration="shop", files=ACTIONS))
        client.call(
            "CreateIntegration",
            pb.CreateIntegrationRequest(
                unique_key="shop",
                base_url=fake_api.url,
                auth_mode="API_KEY",
                auth_config_json=json.dumps({"header": "X-Api-Key", "format": "{api_key}"}),
            ),
        )
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(
                integration="shop",
                connection_id="c1",
                credentials_json=json.dumps({"type": "API_KEY", "api_key": "sekret-123"}),
            ),
        )
    return "c1"


def test_serve_printed_a_secret_key_and_logs_json_lines(service: Service) -> None:
    assert service.secret_key.startswith("sk_")
    lines = [
        json.loads(line)
        for line in service.stderr_path.read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(line.get("event") == "orchestrator started" for line in lines)


def test_action_output_and_injected_credential(
    client: Client, fake_api: FakeApi, deployed: str
) -> None:
    response = client.call(
        "TriggerAction",
        pb.TriggerActionRequest(
            action_name="get_item", connection_id=deployed, input_json='{"item_id": 7}'
        ),
    )
    assert json.loads(response.output_json) == {"name": "Lamp", "price_cents": 1250}
    request = next(s for s in fake_api.seen if s.path.startswith("/items/7"))
    assert request.headers["x-api-key"] == "sekret-123"
    assert request.path == "/items/7?expand=price"
    logs = client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=response.run_id))
    assert [line.message for line in logs.lines] == ["fetched"]


def test_cli_trigger_prints_the_output(service: Service, deployed: str) -> None:
    result = corral(
        service,
        "trigger",
        "action",
        "get_item",
        "--connection",
        deployed,
        "--input",
        '{"item_id": 7}',
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "Lamp", "price_cents": 1250}


def test_action_error_reaches_the_caller(client: Client, service: Service, deployed: str) -> None:
    with pytest.raises(RunFailure) as caught:
        client.call(
            "TriggerAction", pb.TriggerActionRequest(action_name="refuse", connection_id=deployed)
        )
    assert caught.value.code == "action_script_failure"
    assert caught.value.payload == {"k": "v"}
    result = corral(service, "trigger", "action", "refuse", "--connection", deployed)
    assert result.returncode == 1
    assert json.loads(result.stderr)["error_type"] == "action_script_failure"
    assert json.loads(result.stderr)["payload"] == {"k": "v"}
    # A payload that is no object reaches the caller as {"message": payload}, as in the seed.
    with pytest.raises(RunFailure) as text:
        client.call(
            "TriggerAction",
            pb.TriggerActionRequest(action_name="refuse_text", connection_id=deployed),
        )
    assert text.value.payload == {"message": "out of stock"}


def test_input_failing_the_model_is_invalid_argument(service: Service, deployed: str) -> None:
    channel = grpc.insecure_channel(service.address)
    stub = __import__("corral.v1.orchestrator_pb2_grpc", fromlist=["x"]).OrchestratorStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.TriggerAction(
            pb.TriggerActionRequest(
                action_name="get_item", connection_id=deployed, input_json='{"item_id": "x"}'
            ),
            metadata=(("authorization", f"Bearer {service.secret_key}"),),
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(caught.value)
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.reason == "invalid_action_input"
    channel.close()


def test_import_os_is_refused_at_deploy_naming_the_module(client: Client) -> None:
    bad = {
        "sneaky.py": "import os\nfrom nango import create_action\n"
        "action = create_action(exec=lambda nango, input: os.getcwd())\n"
    }
    with pytest.raises(InvalidRequest) as caught:
        client.call("Deploy", pb.DeployRequest(integration="bad", files=bad))
    assert "os" in caught.value.message
    assert caught.value.code == "sandbox_violation"
    assert not client.call("ListFunctions", pb.ListFunctionsRequest(integration="bad")).functions


def test_compile_error_names_file_and_line_and_deploys_nothing(client: Client) -> None:
    files = {
        "ok.py": ACTIONS["refuse.py"],
        "broken.py": "from nango import create_action\ndef f(:\n",
    }
    with pytest.raises(CompileError) as caught:
        client.call("Deploy", pb.DeployRequest(integration="half", files=files))
    errors = caught.value.details["errors"]
    assert errors[0]["file"] == "broken.py"
    assert errors[0]["line"] == 2
    assert not client.call("ListFunctions", pb.ListFunctionsRequest(integration="half")).functions


def test_bad_input_gets_typed_errors(client: Client, service: Service, deployed: str) -> None:
    with pytest.raises(NotFound) as unknown_function:
        client.call(
            "TriggerAction", pb.TriggerActionRequest(action_name="nope", connection_id=deployed)
        )
    assert unknown_function.value.code == "unknown_function"
    with pytest.raises(NotFound) as unknown_connection:
        client.call(
            "TriggerAction", pb.TriggerActionRequest(action_name="get_item", connection_id="zz")
        )
    assert unknown_connection.value.code == "unknown_connection"
    with pytest.raises(InvalidRequest) as bad_json:
        client.call(
            "TriggerAction",
            pb.TriggerActionRequest(
                action_name="get_item", connection_id=deployed, input_json="{nope"
            ),
        )
    assert bad_json.value.code == "invalid_json"
    with Client(service.address, "sk_wrong") as wrong, pytest.raises(Unauthenticated):
        wrong.call("ListFunctions", pb.ListFunctionsRequest())


def test_health_and_reflection_for_generic_clients(service: Service) -> None:
    channel = grpc.insecure_channel(service.address)
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(service="corral.v1.Orchestrator")).status == (
        health_pb2.HealthCheckResponse.SERVING
    )
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"corral.v1.Orchestrator", "grpc.health.v1.Health"} <= names
    channel.close()


def test_callback_with_a_wrong_token_is_unauthenticated(service: Service) -> None:
    port = _callback_port(service)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = callbacks_pb2_grpc.RunnerCallbacksStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetMetadata(callbacks_pb2.Empty(), metadata=(("x-corral-run-token", "rt_forged"),))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()


def _callback_port(service: Service) -> int:
    for line in service.stderr_path.read_text().splitlines():
        if '"orchestrator started"' in line:
            return int(json.loads(line)["callback_port"])
    raise AssertionError("no start line")


def test_the_readme_example_deploys(client: Client) -> None:
    files = {p.name: p.read_text() for p in (ROOT / "examples" / "github").glob("*.py")}
    functions = client.call("Deploy", pb.DeployRequest(integration="github", files=files)).functions
    assert sorted(f.name for f in functions) == ["check_access", "create_issue", "issues"]


def test_the_runner_reports_its_isolation_layers(service: Service) -> None:
    lines = [
        json.loads(x) for x in service.stderr_path.read_text().splitlines() if x.startswith("{")
    ]
    started = next(line for line in lines if line.get("event") == "runner started")
    assert isinstance(started["layers_applied"], list)
    assert isinstance(started["layers_missing"], dict)
    assert set(started["layers_applied"]) | set(started["layers_missing"]) >= {"rlimits", "seccomp"}
    assert started["pid"] != service.process.pid


def test_metadata_set_replaces_and_update_merges(client: Client, deployed: str) -> None:
    def change(rpc: str, value: str) -> dict[str, object]:
        request = pb.SetMetadataRequest(connection_id=deployed, metadata_json=value)
        return dict(json.loads(client.call(rpc, request).metadata_json))

    assert change("SetMetadata", '{"a": 1, "b": 2}') == {"a": 1, "b": 2}
    assert change("UpdateMetadata", '{"b": 3, "c": 4}') == {"a": 1, "b": 3, "c": 4}
    assert change("SetMetadata", '{"z": 0}') == {"z": 0}
    with pytest.raises(InvalidRequest):
        change("SetMetadata", "[1]")
    with pytest.raises(NotFound):
        client.call(
            "UpdateMetadata", pb.SetMetadataRequest(connection_id="nope", metadata_json="{}")
        )
