"""The rest of the SDK through the whole path: definitions at deploy, environment variables,
nested actions, the integration, metadata, logging, relative imports and legacy scripts."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from corral.cli import Client
from corral.errors import CompileError, InvalidRequest, RunFailure
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.fake_api import FakeApi
from tests.support.service import Service, corral

TOOLS = {
    "env.py": (
        "from nango import create_action\n"
        "action = create_action(description='env',\n"
        "    exec=lambda nango, input: nango.get_environment_variables())\n"
    ),
    "outer.py": """
from nango import create_action, NangoError

def run(nango, input):
    if not input.get('catch'):
        return {'inner': nango.trigger_action(input['name'], input.get('input'))}
    try:
        return {'inner': nango.trigger_action(input['name'], input.get('input'))}
    except NangoError as e:
        return {'caught': e.type, 'payload': e.payload}

action = create_action(description='outer', exec=run)
""",
    "inner.py": """
from nango import create_action, ActionError
from pydantic import BaseModel

class In(BaseModel):
    n: int

def run(nango, input):
    if input.n < 0:
        raise ActionError({'negative': input.n})
    return {'doubled': input.n * 2}

action = create_action(description='inner', input=In, exec=run)
""",
    "integ.py": (
        "from nango import create_action\n"
        "action = create_action(description='integration',\n"
        "    exec=lambda nango, input: nango.get_integration(**input))\n"
    ),
    "meta.py": """
from nango import create_action

def run(nango, input):
    before = nango.get_metadata()
    nango.set_metadata({'a': 1, 'b': {'x': 1}})
    nango.update_metadata({'b': {'y': 2}, 'c': 3})
    return {'before': before, 'after': nango.get_metadata()}

action = create_action(description='metadata', exec=run)
""",
    "talk.py": """
from nango import create_action

def run(nango, input):
    for level in ('debug', 'info', 'warn', 'error'):
        nango.log('at ' + level, {'n': 1}, level=level)
    nango.log('seed form', {'level': 'warn'})
    nango.log('x' * 100000, level='error')
    nango.set_logger('off')
    nango.log('never', level='error')
    return None

action = create_action(description='logs', exec=run)
""",
}


@pytest.fixture(scope="module")
def tools(service: Service, fake_api: FakeApi) -> Iterator[Client]:
    with Client(service.address, service.secret_key, timeout=60) as client:
        h.setup(
            client,
            "tools",
            TOOLS,
            fake_api.url,
            metadata={"start": True},
            auth_mode="API_KEY",
            credentials={"type": "API_KEY", "api_key": "k-1"},
            auth_config={"client_id": "cid", "client_secret": "shh", "header": "X-Key"},
        )
        yield client


def test_an_invalid_frequency_fails_the_deploy_naming_file_and_line(tools: Client) -> None:
    files = {
        "good.py": TOOLS["env.py"],
        "fast.py": (
            "from nango import create_sync\n"
            "\n"
            "sync = create_sync(description='too fast', frequency='every 10 seconds',\n"
            "                   exec=lambda nango: None)\n"
        ),
    }
    with pytest.raises(InvalidRequest) as caught:
        tools.call("Deploy", pb.DeployRequest(integration="fast", files=files))
    assert caught.value.code == "invalid_definition"
    assert "shortest interval is 30 seconds" in caught.value.message
    assert (caught.value.details["file"], caught.value.details["line"]) == ("fast.py", 3)
    assert not tools.call("ListFunctions", pb.ListFunctionsRequest(integration="fast")).functions


def test_the_deployed_sync_records_its_frequency_and_defaults(tools: Client) -> None:
    files = {
        "every.py": (
            "from nango import create_sync\n"
            "sync = create_sync(description='d', frequency='every half hour',\n"
            "    track_deletes=True, exec=lambda nango: None)\n"
        )
    }
    (info,) = tools.call("Deploy", pb.DeployRequest(integration="freq", files=files)).functions
    config = json.loads(info.config_json)
    assert (config["frequency_seconds"], config["auto_start"]) == (1800, True)
    assert config["track_deletes"] is True


def test_environment_variables(tools: Client) -> None:
    variables = [
        pb.EnvironmentVariable(name="API_SECRET", value="s3"),
        pb.EnvironmentVariable(name="MODE", value="x"),
    ]
    tools.call("SetEnvironmentVariables", pb.SetEnvironmentVariablesRequest(variables=variables))
    assert h.action(tools, "env") == [
        {"name": "API_SECRET", "value": "s3"},
        {"name": "MODE", "value": "x"},
    ]


def test_trigger_action_returns_the_nested_output(tools: Client) -> None:
    assert h.action(tools, "outer", {"name": "inner", "input": {"n": 21}}) == {
        "inner": {"doubled": 42}
    }


@pytest.mark.parametrize(
    ("call", "kind", "payload_check"),
    [
        ({"name": "inner", "input": {"n": -1}}, "action_script_failure", {"negative": -1}),
        ({"name": "inner", "input": {"n": "x"}}, "invalid_action_input", None),
        ({"name": "no_such_action", "input": {}}, "unknown_function", None),
    ],
)
def test_a_nested_failure_is_a_typed_error_the_function_can_catch(
    tools: Client, call: dict[str, Any], kind: str, payload_check: Any
) -> None:
    caught = h.action(tools, "outer", call | {"catch": True})
    assert caught["caught"] == kind
    if payload_check is not None:
        assert caught["payload"] == payload_check


def test_an_uncaught_nested_action_error_reaches_the_caller(tools: Client) -> None:
    with pytest.raises(RunFailure) as caught:
        h.action(tools, "outer", {"name": "inner", "input": {"n": -2}})
    assert caught.value.code == "action_script_failure"
    assert caught.value.payload == {"negative": -2}


def test_get_integration_shows_credentials_only_when_asked(tools: Client) -> None:
    plain = h.action(tools, "integ", {})
    assert plain["unique_key"] == "tools"
    assert plain["auth_mode"] == "API_KEY"
    assert "credentials" not in plain
    assert "shh" not in json.dumps(plain)
    full = h.action(tools, "integ", {"include": ["credentials"]})
    assert full["credentials"] == {"client_id": "cid", "client_secret": "shh"}


def test_metadata_get_set_and_update_merging_the_top_level(tools: Client) -> None:
    out = h.action(tools, "meta")
    assert out["before"] == {"start": True}
    assert out["after"] == {"a": 1, "b": {"y": 2}, "c": 3}
    assert h.metadata(tools) == {"a": 1, "b": {"y": 2}, "c": 3}


def _logs(client: Client, run_id: str) -> list[pb.LogLine]:
    return list(client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_id)).lines)


def _run_talk(client: Client) -> str:
    response = client.call(
        "TriggerAction", pb.TriggerActionRequest(action_name="talk", connection_id="c1")
    )
    return str(response.run_id)


def test_logs_have_levels_caps_and_are_readable_through_the_api_and_cli(
    tools: Client, service: Service
) -> None:
    run_id = _run_talk(tools)
    lines = _logs(tools, run_id)
    assert [(line.level, line.message[:10]) for line in lines] == [
        ("info", "at info"),
        ("warn", "at warn"),
        ("error", "at error"),
        ("warn", "seed form"),
        ("error", "x" * 10),
    ]
    assert json.loads(lines[0].meta_json) == [{"n": 1}]
    assert len(lines[-1].message) == 64 * 1024
    shown = corral(service, "logs", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert [line["message"][:10] for line in json.loads(shown.stdout)["logs"]][:2] == [
        "at info",
        "at warn",
    ]


@pytest.mark.parametrize(("level", "count"), [("debug", 6), ("error", 2), ("off", 0)])
def test_the_environment_default_log_level_applies(
    tools: Client, service: Service, level: str, count: int
) -> None:
    h.set_env_settings(service, {"log_level": level})
    try:
        run_id = _run_talk(tools)
    finally:
        h.set_env_settings(service, {})
    assert len(_logs(tools, run_id)) == count


def test_relative_imports_and_a_compile_error_in_an_imported_file(
    tools: Client, fake_api: FakeApi, tmp_path: pathlib.Path, service: Service
) -> None:
    entry = (
        "from nango import create_action\n"
        "from .mappers import to_item\n"
        "action = create_action(description='t',\n"
        "    exec=lambda nango, input: to_item(nango.get(endpoint='/thing').data))\n"
    )
    fake_api.route("GET", "/thing", body={"id": 7, "title": "T"})
    folder = tmp_path / "mapped"
    folder.mkdir()
    (folder / "fetch_thing.py").write_text(entry)
    (folder / "mappers.py").write_text(
        "def to_item(raw):\n    return {'id': str(raw['id']), 'name': raw['title']}\n"
    )
    deployed = corral(service, "deploy", str(folder))
    assert deployed.returncode == 0, deployed.stderr
    tools.call(
        "CreateIntegration", pb.CreateIntegrationRequest(unique_key="mapped", base_url=fake_api.url)
    )
    tools.call(
        "CreateConnection", pb.CreateConnectionRequest(integration="mapped", connection_id="m1")
    )
    assert h.action(tools, "fetch_thing", connection="m1") == {"id": "7", "name": "T"}
    (folder / "mappers.py").write_text("def to_item(raw):\n    return {'id': raw['id'],\n")
    with pytest.raises(CompileError) as caught:
        tools.call(
            "Deploy",
            pb.DeployRequest(
                integration="mapped", files={p.name: p.read_text() for p in folder.glob("*.py")}
            ),
        )
    (first, *_) = caught.value.details["errors"]
    assert (first["file"], first["line"]) == ("mappers.py", 2)
    assert h.action(tools, "fetch_thing", connection="m1") == {"id": "7", "name": "T"}


LEGACY_SYNC = """
def fetch_data(nango):
    items = nango.get(endpoint='/legacy/items').data
    nango.batch_save([{'id': str(i['id']), 'title': i['title']} for i in items], 'Item')
"""
LEGACY_ACTION = """
def run_action(nango, input):
    return {'echo': input, 'variant': nango.variant}
"""


def test_legacy_scripts_deploy_with_their_configuration_and_run(
    tools: Client, fake_api: FakeApi, tmp_path: pathlib.Path, service: Service
) -> None:
    fake_api.route("GET", "/legacy/items", body=[{"id": 1, "title": "one"}])
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "fetch_items.py").write_text(LEGACY_SYNC)
    (folder / "echo.py").write_text(LEGACY_ACTION)
    config = tmp_path / "legacy.json"
    config.write_text(
        json.dumps(
            {
                "fetch_items.py": {"kind": "sync", "frequency": "every day", "models": ["Item"]},
                "echo.py": {"kind": "action", "description": "echo"},
            }
        )
    )
    deployed = corral(service, "deploy", str(folder), "--legacy-config", str(config), "--json")
    assert deployed.returncode == 0, deployed.stderr
    functions = {f["name"]: f for f in json.loads(deployed.stdout)["functions"]}
    assert set(functions) == {"fetch_items", "echo"}
    tools.call(
        "CreateIntegration", pb.CreateIntegrationRequest(unique_key="old", base_url=fake_api.url)
    )
    tools.call(
        "CreateConnection", pb.CreateConnectionRequest(integration="old", connection_id="o1")
    )
    assert h.action(tools, "echo", {"a": 1}, connection="o1") == {
        "echo": {"a": 1},
        "variant": "base",
    }
    h.sync(tools, "fetch_items", connection="o1")
    assert h.records(tools, "Item", connection="o1")["1"]["title"] == "one"


def test_a_legacy_sync_without_configuration_is_refused(tools: Client) -> None:
    with pytest.raises(InvalidRequest) as caught:
        tools.call(
            "Deploy", pb.DeployRequest(integration="old2", files={"fetch_items.py": LEGACY_SYNC})
        )
    assert caught.value.code == "invalid_definition"
    assert "--legacy-config" in caught.value.message
    assert caught.value.details["file"] == "fetch_items.py"
