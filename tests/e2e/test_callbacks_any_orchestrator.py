"""A worker's SDK calls may land on any orchestrator of a database: orchestrator A dispatches a
run to a standalone runner whose callbacks go to orchestrator B; B resolves A's run token from
the shared database, serves the calls, and the run succeeds (real processes, a real
PostgreSQL)."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.support.postgres import PostgresServer, free_port
from tests.support.processes import wait_for
from tests.support.service import Service, running_service

ACTION = """
from nango import create_action

def run(nango, input):
    nango.set_metadata({'seen': input})
    nango.log('called back')
    return nango.get_metadata()

action = create_action(description='calls back', exec=run)
"""


def _callback_port(service: Service) -> int:
    for line in service.stderr_path.read_text().splitlines():
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("event") == "orchestrator started":
            return int(entry["callback_port"])
    raise AssertionError("no start line")


@contextmanager
def _runner(port: int, callbacks: str, log: pathlib.Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env |= {
        "CORRAL_RUNNER_PORT": str(port),
        "CORRAL_RUNNER_CALLBACKS": callbacks,
        "CORRAL_RUNNER_PREWARM_WORKERS": "1",
        "CORRAL_LOG_FORMAT": "json",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "corral", "runner"], env=env, stdout=out, stderr=out
        )
    try:
        assert wait_for(lambda: '"runner started"' in log.read_text(), 60), log.read_text()
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_runs_callbacks_are_served_by_another_orchestrator(
    tmp_path: pathlib.Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database(postgres_server.unique_name("callbacks"))
    with running_service(tmp_path / "b", banner=True, CORRAL_DATABASE_URL=url) as b:
        runner_port = free_port()
        with (
            _runner(runner_port, f"127.0.0.1:{_callback_port(b)}", tmp_path / "runner.log"),
            running_service(
                tmp_path / "a",
                banner=False,
                CORRAL_DATABASE_URL=url,
                CORRAL_RUNNER_ADDRESS=f"127.0.0.1:{runner_port}",
            ) as a,
            Client(a.address, b.secret_key, timeout=60) as on_a,
        ):
            on_a.call("Deploy", pb.DeployRequest(integration="shop", files={"cb.py": ACTION}))
            on_a.call(
                "CreateConnection",
                pb.CreateConnectionRequest(integration="shop", connection_id="c"),
            )
            response = on_a.call(
                "TriggerAction",
                pb.TriggerActionRequest(action_name="cb", connection_id="c", input_json="7"),
            )
            assert json.loads(response.output_json) == {"seen": 7}
            logs = on_a.call("GetRunLogs", pb.GetRunLogsRequest(run_id=response.run_id))
            assert [line.message for line in logs.lines] == ["called back"]
            # The runner knows only B's callback API: every SDK call of A's run went to B.
            assert _callback_port(a) != _callback_port(b)
            started = [
                json.loads(line)
                for line in (tmp_path / "runner.log").read_text().splitlines()
                if '"runner started"' in line
            ]
            assert started[0]["callbacks"] == f"127.0.0.1:{_callback_port(b)}"
