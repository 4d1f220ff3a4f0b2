"""Per-environment settings: limits per kind of run, the default log level, validation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from corral.cli import Client
from corral.errors import RunFailure
from corral.limits import CEILING
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e.sdk_helpers import set_env_settings
from tests.support.service import Service

BUSY = """
from nango import create_action

def run(nango, input):
    nango.log('debug line', level='debug')
    nango.log('warn line', level='warn')
    if input == 'spin':
        while True:
            pass
    return input

action = create_action(description='busy', exec=run)
"""


def settings(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "corral", "env", "settings", "dev"]
    return subprocess.run(
        [*command, "--data-dir", str(service.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def busy(client: Client) -> str:
    client.call("Deploy", pb.DeployRequest(integration="busy", files={"busy.py": BUSY}))
    client.call(
        "CreateConnection", pb.CreateConnectionRequest(integration="busy", connection_id="b")
    )
    return "b"


def test_settings_show_defaults_and_refuse_bad_values(service: Service) -> None:
    shown = settings(service)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["settings"]["log_level"] == "info"
    bad = settings(service, "--set", '{"limits": {"action": {"wall_seconds": -1}}}')
    assert bad.returncode == 1
    assert json.loads(bad.stderr)["error_type"] == "invalid_settings"
    unknown = settings(service, "--set", '{"colour": "blue"}')
    assert unknown.returncode == 1


def test_action_wall_clock_limit_and_log_level_apply(
    service: Service, client: Client, busy: str
) -> None:
    changed = settings(
        service, "--set", '{"log_level": "warn", "limits": {"action": {"wall_seconds": 1}}}'
    )
    assert changed.returncode == 0, changed.stderr
    with pytest.raises(RunFailure) as caught:
        client.call(
            "TriggerAction",
            pb.TriggerActionRequest(action_name="busy", connection_id=busy, input_json='"spin"'),
        )
    assert caught.value.code == "execution_timeout"
    done = client.call(
        "TriggerAction",
        pb.TriggerActionRequest(action_name="busy", connection_id=busy, input_json='"ok"'),
    )
    assert json.loads(done.output_json) == "ok"
    lines = client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=done.run_id)).lines
    assert [line.message for line in lines] == ["warn line"]
    assert settings(service, "--set", '{"log_level": "info"}').returncode == 0


def test_a_limit_above_the_ceiling_is_refused_and_nothing_is_changed(service: Service) -> None:
    before = settings(service)
    assert before.returncode == 0, before.stderr
    patch = {"log_level": "error", "limits": {"action": {"memory_bytes": 64 << 30}}}
    bad = settings(service, "--set", json.dumps(patch))
    assert bad.returncode == 1
    error = json.loads(bad.stderr)
    assert error["error_type"] == "invalid_limits"
    assert "limits.action.memory_bytes" in error["message"]
    assert error["details"] == {
        "field": "limits.action.memory_bytes",
        "value": 64 << 30,
        "ceiling": CEILING.memory_bytes,
    }
    assert json.loads(settings(service).stdout) == json.loads(before.stdout)


def test_stored_limits_above_the_ceiling_fail_the_run_and_a_patch_mends_them(
    service: Service, client: Client
) -> None:
    client.call("Deploy", pb.DeployRequest(integration="busy", files={"busy.py": BUSY}))
    busy = "over-ceiling"
    client.call(
        "CreateConnection", pb.CreateConnectionRequest(integration="busy", connection_id=busy)
    )
    # As if written before the ceiling was checked: the runner refuses, it does not cap.
    set_env_settings(service, {"limits": {"action": {"memory_bytes": 64 << 30}}})
    try:
        with pytest.raises(RunFailure) as caught:
            client.call(
                "TriggerAction",
                pb.TriggerActionRequest(action_name="busy", connection_id=busy, input_json='"ok"'),
            )
        assert caught.value.code == "invalid_limits"
        assert caught.value.payload["ceiling"] == CEILING.memory_bytes
        mended = settings(service, "--set", '{"limits": {"action": {"memory_bytes": 1073741824}}}')
        assert mended.returncode == 0, mended.stderr
        done = client.call(
            "TriggerAction",
            pb.TriggerActionRequest(action_name="busy", connection_id=busy, input_json='"ok"'),
        )
        assert json.loads(done.output_json) == "ok"
    finally:
        set_env_settings(service, {})


def test_retention_days_is_an_environment_setting(service: Service) -> None:
    assert "retention_days" not in json.loads(settings(service).stdout)["settings"]
    changed = settings(service, "--set", '{"retention_days": 7}')
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["settings"]["retention_days"] == 7
    bad = settings(service, "--set", '{"retention_days": -1}')
    assert bad.returncode == 1
    refused = json.loads(bad.stderr)
    assert refused["error_type"] == "invalid_settings"
    assert "retention_days" in refused["message"]
    assert json.loads(settings(service).stdout)["settings"]["retention_days"] == 7
    reset = settings(service, "--set", '{"retention_days": null}')
    assert reset.returncode == 0, reset.stderr
    assert "retention_days" not in json.loads(reset.stdout)["settings"]
