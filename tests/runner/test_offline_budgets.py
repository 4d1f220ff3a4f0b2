"""The offline dry run (``corral dryrun``) keeps the budgets a server keeps, through the real
worker: log lines past them are dropped and counted (with the store's one closing note),
oversized records and metadata are refused, and past a per-run records budget the run fails
even when the function catches the error."""

from __future__ import annotations

import pathlib
import time
from typing import Any

import pytest

from corral._budgets import Budgets
from corral.errors import ResourceExhausted
from corral.testing import OfflineCallbacks, dryrun_result
from runner.host._host import RunnerHost
from tests.runner.by_method import SdkCalls

SMALL = Budgets(
    log_lines_per_run=5,
    log_bytes_per_run=4096,
    log_meta_bytes=100,
    metadata_bytes=200,
    record_bytes=300,
    records_per_run=4,
    record_bytes_per_run=2048,
)

LOGS = """
from nango import create_action

def run(nango, input):
    for i in range(input['lines']):
        nango.log(f'line {i}', {'pad': 'x' * input.get('pad', 0)})
    return 'done'

action = create_action(description='logs', exec=run)
"""

RECORDS = """
from nango import create_sync

def fetch(nango):
    plan = nango.get_metadata().get('plan') or {}
    if plan.get('big'):
        nango.batch_save([{'id': 'big', 'pad': 'x' * plan['big']}], 'Item')
    for i in range(plan.get('batches', 0)):
        try:
            nango.batch_save([{'id': f'{i}-a'}, {'id': f'{i}-b'}], 'Item')
        except Exception:
            if plan.get('swallow'):
                return
            raise
    if plan.get('meta'):
        nango.update_metadata({'pad': 'x' * plan['meta']})

sync = create_sync(description='records', frequency='every hour', auto_start=False, exec=fetch)
"""


def _run(
    host: RunnerHost, tmp_path: pathlib.Path, name: str, source: str, **options: Any
) -> dict[str, Any]:
    folder = tmp_path / "shop"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(source)
    return dryrun_result(
        path,
        options.get("input"),
        options.get("metadata"),
        None,
        host=host,
        budgets=SMALL,
    )


def test_log_lines_past_the_budget_are_dropped_and_counted(
    sdk_host: RunnerHost, tmp_path: pathlib.Path
) -> None:
    result = _run(sdk_host, tmp_path, "logs", LOGS, input={"lines": 12})
    assert result["ok"], result["error"]
    assert result["output"] == "done"
    assert [line["message"] for line in result["logs"]] == [
        *(f"line {i}" for i in range(5)),
        "7 log line(s) dropped: the run is past its log budget",
    ]
    assert result["logs"][-1]["level"] == "warn"
    assert result["logs_dropped"] == 7


def test_log_metadata_past_its_budget_is_replaced(
    sdk_host: RunnerHost, tmp_path: pathlib.Path
) -> None:
    result = _run(sdk_host, tmp_path, "logs", LOGS, input={"lines": 2, "pad": 500})
    assert result["ok"], result["error"]
    assert result["logs"][0]["meta"]["limit"] == 100


def test_an_oversized_record_is_refused(sdk_host: RunnerHost, tmp_path: pathlib.Path) -> None:
    result = _run(sdk_host, tmp_path, "records", RECORDS, metadata={"plan": {"big": 400}})
    assert not result["ok"]
    assert result["records"] == {}


def test_records_per_run_fail_the_run_even_when_the_error_is_caught(
    sdk_host: RunnerHost, tmp_path: pathlib.Path
) -> None:
    plan = {"plan": {"batches": 5, "swallow": True}}
    result = _run(sdk_host, tmp_path, "records", RECORDS, metadata=plan)
    assert not result["ok"]
    assert result["error"]["type"] == "resource_exhausted"
    assert result["error"]["details"] == {"resource": "records_per_run", "limit": 4}
    assert [r["id"] for r in result["records"]["Item"]] == ["0-a", "0-b", "1-a", "1-b"]


def test_metadata_past_the_budget_is_refused(sdk_host: RunnerHost, tmp_path: pathlib.Path) -> None:
    result = _run(sdk_host, tmp_path, "records", RECORDS, metadata={"plan": {"meta": 500}})
    assert not result["ok"]


def test_the_handler_enforces_each_budget() -> None:
    handler = OfflineCallbacks(budgets=SMALL)
    calls = SdkCalls(handler)
    deadline = time.monotonic() + 60
    for i in range(8):
        calls.call("log", {"message": f"m{i}", "meta": None}, deadline)
    assert [line["message"] for line in handler.logs][:5] == [f"m{i}" for i in range(5)]
    assert len(handler.logs) == 6  # the five kept, and the store's note of the dropped ones
    assert handler.logs_dropped == 3
    with pytest.raises(ResourceExhausted):
        calls.call("set_metadata", {"metadata": {"pad": "x" * 300}}, deadline)
    big = [{"id": "1", "p": "x" * 400}]
    with pytest.raises(ResourceExhausted):
        calls.call("batch_save", {"model": "M", "records": big}, deadline)
    assert handler.failure is None
    four = [{"id": str(i)} for i in range(4)]
    calls.call("batch_save", {"model": "M", "records": four}, deadline)
    with pytest.raises(ResourceExhausted):
        calls.call("batch_save", {"model": "M", "records": [{"id": "5"}]}, deadline)
    assert handler.failure is not None
    assert len(handler.records["M"]) == 4
    handler.close()
