"""Budgets through the whole path (serve, the real runner and worker): logs past the cap are
dropped and counted while the run goes on, oversized records and metadata are refused, the
records-per-run budget fails the run, and listings with large rows page by size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from corral.cli import Client
from corral.errors import ResourceExhausted, RunFailure
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.fake_api import FakeApi
from tests.support.service import Service

SMALL = {
    "log_lines_per_run": 20,
    "log_bytes_per_run": 64 << 10,
    "metadata_bytes": 4096,
    "record_bytes": 2048,
    "records_per_run": 10,
    "record_bytes_per_run": 64 << 10,
}

BUDGETS = """
from nango import create_sync

def fetch(nango):
    plan = nango.get_metadata().get('plan') or {}
    for i in range(plan.get('logs', 0)):
        nango.log(f'line {i}' + 'w' * plan.get('wide', 0))
    if plan.get('big'):
        nango.batch_save([{'id': 'big', 'pad': 'x' * plan['big']}], 'Item')
    for i in range(plan.get('batches', 0)):
        try:
            nango.batch_save([{'id': f'{i}-{j}', 'pad': 'y' * plan.get('pad', 0)}
                              for j in range(plan.get('size', 3))], 'Item')
        except Exception:
            while plan.get('spin'):
                pass
            if plan.get('swallow'):
                return
            raise
    if plan.get('meta'):
        nango.update_metadata({'pad': 'z' * plan['meta']})

sync = create_sync(description='budgets', frequency='every hour', auto_start=False, exec=fetch)
"""

BIG_OUTPUT = """
from nango import create_action

def run(nango, input):
    return 'o' * input

action = create_action(description='big output', exec=run)
"""


@pytest.fixture(scope="module")
def shop(service: Service, fake_api: FakeApi) -> Iterator[Client]:
    with Client(service.address, service.secret_key, timeout=60) as client:
        files = {"budgets.py": BUDGETS, "big_output.py": BIG_OUTPUT}
        h.setup(client, "shop", files, fake_api.url, connection="base")
        yield client


@pytest.fixture(autouse=True)
def small_budgets(service: Service) -> None:
    h.set_env_settings(service, {"budgets": SMALL})


_connections = iter(range(1_000))


def _connect(client: Client, **plan: Any) -> str:
    cid = f"c{next(_connections)}"
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration="shop", connection_id=cid, metadata_json=json.dumps({"plan": plan})
        ),
    )
    return cid


def _last_run(client: Client, cid: str) -> pb.Run:
    run: pb.Run = client.call("ListRuns", pb.ListRunsRequest(connection_id=cid, limit=1)).runs[0]
    return run


def test_logs_past_the_cap_are_dropped_and_counted_and_the_run_goes_on(
    service: Service, shop: Client
) -> None:
    cid = _connect(shop, logs=50, batches=1)
    run_id = h.sync(shop, "budgets", cid)
    run = shop.call("GetRun", pb.GetRunRequest(run_id=run_id))
    assert run.state == pb.RUN_STATE_SUCCEEDED
    assert run.logs_dropped == 30
    lines = shop.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_id)).lines
    messages = [line.message for line in lines if line.message.startswith("line ")]
    assert messages == [f"line {i}" for i in range(20)]
    assert "30 log line(s) dropped" in lines[-1].message
    assert len(h.records(shop, "Item", cid)) == 3
    shown = _cli(service, "logs", run_id)
    assert shown["run"]["logs_dropped"] == 30
    assert len(shown["logs"]) == 21
    listed = _cli(service, "runs", "--connection", cid)
    assert listed["runs"][0]["logs_dropped"] == 30


def test_an_oversized_record_is_refused(shop: Client) -> None:
    cid = _connect(shop, big=4000)
    with pytest.raises(RunFailure):
        h.sync(shop, "budgets", cid)
    assert h.records(shop, "Item", cid) == {}


def test_records_per_run_fail_the_run_and_keep_nothing_of_the_failing_batch(
    shop: Client,
) -> None:
    cid = _connect(shop, batches=5, size=3, swallow=True)
    with pytest.raises(RunFailure) as caught:
        h.sync(shop, "budgets", cid)
    assert caught.value.code == "resource_exhausted"
    run = _last_run(shop, cid)
    assert run.state == pb.RUN_STATE_FAILED
    assert run.error.type == "resource_exhausted"
    assert sorted(h.records(shop, "Item", cid)) == sorted(
        f"{i}-{j}" for i in range(3) for j in range(3)
    )


def test_a_run_past_records_per_run_is_stopped_on_the_runner(shop: Client) -> None:
    cid = _connect(shop, batches=5, size=3, spin=True)
    started = time.monotonic()
    with pytest.raises(RunFailure) as caught:
        h.sync(shop, "budgets", cid)
    assert caught.value.code == "resource_exhausted"
    assert time.monotonic() - started < 30


def test_metadata_past_the_budget_is_refused(shop: Client) -> None:
    cid = _connect(shop, meta=8000)
    with pytest.raises(RunFailure):
        h.sync(shop, "budgets", cid)
    assert "pad" not in h.metadata(shop, cid)
    with pytest.raises(ResourceExhausted) as caught:
        shop.call(
            "UpdateMetadata",
            pb.SetMetadataRequest(connection_id=cid, metadata_json=json.dumps({"x": "y" * 5000})),
        )
    assert caught.value.details == {"resource": "metadata_bytes", "limit": 4096}


def test_listings_with_large_rows_page_by_size(service: Service, shop: Client) -> None:
    budgets = {"record_bytes": 900_000, "records_per_run": 100, "record_bytes_per_run": 16 << 20}
    h.set_env_settings(service, {"budgets": budgets})
    cid = _connect(shop, batches=2, size=4, pad=800_000)
    h.sync(shop, "budgets", cid)
    first = shop.call(
        "ListRecords", pb.ListRecordsRequest(connection_id=cid, model="Item", limit=100)
    )
    assert 0 < len(first.records) < 8
    assert first.next_cursor
    assert len(h.records(shop, "Item", cid)) == 8
    shown = _cli(service, "records", "--connection", cid, "--model", "Item")
    assert len(shown["records"]) == 8

    wide = _connect(shop, logs=60, wide=60_000)
    h.set_env_settings(service, {"budgets": {"log_bytes_per_run": 16 << 20}})
    run_id = h.sync(shop, "budgets", wide)
    page = shop.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_id))
    assert 0 < len(page.lines) < 60
    assert page.next_cursor
    shown = _cli(service, "logs", run_id)
    assert len(shown["logs"]) == 60
    assert shown["run"]["logs_dropped"] == 0

    for _ in range(3):
        h.action(shop, "big_output", 1_500_000, connection=wide)
    runs = shop.call("ListRuns", pb.ListRunsRequest(connection_id=wide, limit=10))
    assert 0 < len(runs.runs) < 4
    assert runs.next_cursor
    listed_runs = _cli(service, "runs", "--connection", wide, "--limit", "10")
    assert len(listed_runs["runs"]) == 4

    for i in range(5):
        shop.call(
            "CreateConnection",
            pb.CreateConnectionRequest(
                integration="shop",
                connection_id=f"wide{i}",
                metadata_json=json.dumps({"pad": "m" * 800_000}),
            ),
        )
    page = shop.call("ListConnections", pb.ListConnectionsRequest())
    assert page.next_cursor
    listed = _cli(service, "connection", "list")
    assert {f"wide{i}" for i in range(5)} <= {c["connection_id"] for c in listed["connections"]}


def _cli(service: Service, *args: str) -> Any:
    command = [sys.executable, "-m", "corral", *args]
    env = {"CORRAL_SERVER": service.address, "CORRAL_SECRET_KEY": service.secret_key}
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_env_settings_show_the_budgets_in_force(service: Service) -> None:
    command = [sys.executable, "-m", "corral", "env", "settings", "dev"]
    shown = subprocess.run(
        [
            *command,
            "--data-dir",
            str(service.data_dir),
            "--set",
            '{"budgets": {"records_per_run": 7}}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    budgets = json.loads(shown.stdout)["budgets"]
    assert budgets["records_per_run"] == 7
    assert budgets["log_lines_per_run"] == SMALL["log_lines_per_run"]
    bad = subprocess.run(
        [
            *command,
            "--data-dir",
            str(service.data_dir),
            "--set",
            '{"budgets": {"records_per_run": 0}}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert json.loads(bad.stderr)["error_type"] == "invalid_settings"


def test_a_dry_run_keeps_the_budgets_and_fails_past_records_per_run(shop: Client) -> None:
    cid = _connect(shop)
    plan = {"plan": {"logs": 30, "batches": 5, "size": 3, "swallow": True}}
    request = pb.DryRunRequest(
        connection_id=cid,
        entry="budgets.py",
        files={"budgets.py": BUDGETS},
        metadata_json=json.dumps(plan),
    )
    events = list(shop.stream("DryRun", request))
    logs = [e.log.message for e in events if e.HasField("log")]
    assert [m for m in logs if m.startswith("line ")] == [f"line {i}" for i in range(20)]
    result = next(e.result for e in events if e.HasField("result"))
    assert not result.ok
    assert result.error.type == "resource_exhausted"
    assert len(json.loads(result.records_json)["Item"]) == 9
