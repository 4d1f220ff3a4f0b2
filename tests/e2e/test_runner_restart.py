"""A runner that dies is started again; the orchestrator stays up and runs go on."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import time
from collections.abc import Iterator

import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.support.service import Service, running_service

ECHO = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return input\n"
    "action = create_action(description='echo', exec=run)\n"
)


@pytest.fixture
def own_service(tmp_path: pathlib.Path) -> Iterator[Service]:
    with running_service(tmp_path / "data") as svc:
        yield svc


def _runner_starts(service: Service) -> list[dict[str, object]]:
    lines = service.stderr_path.read_text().splitlines()
    return [json.loads(x) for x in lines if '"runner started"' in x]


def test_a_killed_runner_is_restarted_on_its_port(own_service: Service) -> None:
    with Client(own_service.address, own_service.secret_key, timeout=30) as client:
        client.call("Deploy", pb.DeployRequest(integration="echo", files={"echo.py": ECHO}))
        client.call(
            "CreateConnection", pb.CreateConnectionRequest(integration="echo", connection_id="c")
        )
        request = pb.TriggerActionRequest(action_name="echo", connection_id="c", input_json="1")
        assert json.loads(client.call("TriggerAction", request).output_json) == 1
        (first,) = _runner_starts(own_service)
        os.kill(int(str(first["pid"])), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                output = client.call("TriggerAction", request, timeout=10).output_json
                break
            except CorralError:
                assert time.monotonic() < deadline, "the runner did not come back"
                time.sleep(0.2)
        assert json.loads(output) == 1
    starts = _runner_starts(own_service)
    assert len(starts) == 2
    assert starts[1]["port"] == first["port"]
    assert starts[1]["pid"] != first["pid"]
    assert '"runner died; starting it again"' in own_service.stderr_path.read_text()
