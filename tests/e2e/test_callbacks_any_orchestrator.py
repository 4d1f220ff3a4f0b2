"""A worker's SDK calls may land on any orchestrator of a database: orchestrator A dispatches a
run to a standalone runner whose callbacks go to orchestrator B; B resolves A's run token from
the shared database, serves the calls, and the run succeeds (real processes, a real
PostgreSQL). A sync's record counts, kept by whichever orchestrator serves its calls, are
whole in the notification A sends when the run ends."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi
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

SYNC = """
from nango import create_sync

def fetch(nango):
    nango.batch_save([{'id': '1'}, {'id': '2'}, {'id': '3'}], 'Item')
    nango.batch_save([{'id': '1', 'v': 2}], 'Item')
    nango.batch_delete([{'id': '2'}], 'Item')
    nango.batch_save([{'id': 'x'}], 'Other')

sync = create_sync(description='items', frequency='every day', auto_start=False, exec=fetch)
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


@contextmanager
def _a_with_bs_runner(
    tmp_path: pathlib.Path, url: str, files: dict[str, str]
) -> Iterator[tuple[Service, Service, Client]]:
    """B, a standalone runner whose callbacks go to B alone, and A placing its runs on that
    runner; ``files`` deployed through A, with connection ``c``. Yields A, B and a client of A."""
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
            on_a.call("Deploy", pb.DeployRequest(integration="shop", files=files))
            on_a.call(
                "CreateConnection",
                pb.CreateConnectionRequest(integration="shop", connection_id="c"),
            )
            yield a, b, on_a


def test_a_runs_callbacks_are_served_by_another_orchestrator(
    tmp_path: pathlib.Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database(postgres_server.unique_name("callbacks"))
    with _a_with_bs_runner(tmp_path, url, {"cb.py": ACTION}) as (a, b, on_a):
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


def _env_settings(url: str, data_dir: pathlib.Path, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    done = subprocess.run(
        [sys.executable, "-m", "corral", "env", *args, "--database-url", url],
        env=env | {"CORRAL_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def test_a_syncs_notification_counts_the_records_another_orchestrator_saved(
    tmp_path: pathlib.Path, postgres_server: PostgresServer, fake_api: FakeApi
) -> None:
    """A dispatches and ends the run, B serves every record call: the counts A notifies are
    B's (they were empty when each orchestrator counted in memory)."""
    url = postgres_server.create_database(postgres_server.unique_name("counts"))
    fake_api.routes[("POST", "/notify")] = lambda _seen: (200, {}, {})
    with _a_with_bs_runner(tmp_path, url, {"items.py": SYNC}) as (_, _, on_a):
        patch = json.dumps({"notifications": {"url": fake_api.url + "/notify"}})
        _env_settings(url, tmp_path / "b", "settings", "dev", "--set", patch)
        _env_settings(url, tmp_path / "b", "notification-secret", "dev")
        run_id = on_a.call(
            "TriggerSync", pb.TriggerSyncRequest(sync_name="items", connection_id="c")
        ).run_id
        assert wait_for(lambda: _notified(fake_api), 60), "no notification came"
        body = json.loads(_notified(fake_api)[0])
        assert (body["run_id"], body["success"]) == (run_id, True)
        assert body["models"] == {
            "Item": {"added": 3, "updated": 1, "deleted": 1},
            "Other": {"added": 1, "updated": 0, "deleted": 0},
        }
        time.sleep(0.2)  # a second notification (another orchestrator's) would come now
        assert len(_notified(fake_api)) == 1


def _notified(fake_api: FakeApi) -> list[bytes]:
    return [seen.body for seen in fake_api.seen if seen.path == "/notify"]
