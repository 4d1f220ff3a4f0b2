"""``corral trigger sync`` on a terminal: the sync's progress drawn, then its run id or its
error (``corral.cli._sync_progress``), against a scripted client."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from corral.cli import _sync_progress
from corral.cli._sync_progress import progress_line, sync_with_progress
from corral.errors import RunFailure
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb


class _Client:
    """Answers TriggerSync with a run id, then GetRun with each of ``runs`` in turn."""

    timeout = 3600.0

    def __init__(self, runs: list[Any]) -> None:
        self.runs = runs
        self.requests: list[tuple[str, Any]] = []

    def call(self, rpc: str, request: Any, timeout: float | None = None) -> Any:
        self.requests.append((rpc, request))
        if rpc == "TriggerSync":
            return pb.TriggerSyncResponse(run_id="run-1")
        if rpc == "CancelRun":
            return pb.CancelRunResponse(cancelled=True)
        run = self.runs.pop(0)
        if isinstance(run, BaseException):
            raise run
        return run


def _running(added: int, updated: int, requests: int) -> pb.Run:
    run = pb.Run(run_id="run-1", state=pb.RUN_STATE_RUNNING)
    run.progress.CopyFrom(
        pb.RunProgress(records_added=added, records_updated=updated, requests=requests)
    )
    return run


def _invoke(client: _Client) -> tuple[Any, str | None]:
    found: dict[str, Any] = {}

    @click.command()
    def command() -> None:
        try:
            found["run_id"] = sync_with_progress(client, pb.TriggerSyncRequest(sync_name="s"))
        except RunFailure as err:
            found["error"] = err

    result = CliRunner().invoke(command)
    return result, found.get("run_id") or found.get("error")


def test_the_progress_is_drawn_in_place_then_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sync_progress, "POLL_SECONDS", 0)
    client = _Client(
        [
            pb.Run(run_id="run-1", state=pb.RUN_STATE_QUEUED),
            _running(1000, 0, 10),
            _running(1500, 20, 15),
            pb.Run(run_id="run-1", state=pb.RUN_STATE_SUCCEEDED),
        ]
    )
    result, run_id = _invoke(client)
    assert run_id == "run-1"
    assert client.requests[0][0] == "TriggerSync"
    assert getattr(client.requests[0][1], "async") is True  # started, then watched
    drawn = result.stderr.split("\r")
    assert "waiting for a slot to run" in drawn
    assert any(
        "syncing: 1,000 records saved (1,000 added, 0 updated, 0 deleted), 10 requests" in d
        for d in drawn
    )
    assert any("1,520 records saved (1,500 added, 20 updated" in d for d in drawn)
    assert result.stderr.endswith("\r")  # the line cleared: the answer comes alone
    assert result.stdout == ""


def test_a_failed_sync_raises_its_error_with_its_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sync_progress, "POLL_SECONDS", 0)
    failed = pb.Run(run_id="run-1", state=pb.RUN_STATE_FAILED)
    failed.error.CopyFrom(common_pb2.RunError(type="script_http_error", message="the API said 500"))
    _, error = _invoke(_Client([_running(5, 0, 1), failed]))
    assert isinstance(error, RunFailure)
    assert error.code == "script_http_error"
    assert error.message == "the API said 500"
    assert error.details["run_id"] == "run-1"


def test_a_line_names_every_count() -> None:
    line = progress_line(_running(3, 2, 7))
    assert line == "syncing: 5 records saved (3 added, 2 updated, 0 deleted), 7 requests"


def test_the_clients_deadline_cancels_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sync_progress, "POLL_SECONDS", 0)
    client = _Client([_running(1, 0, 1)])
    client.timeout = 0.0
    _, error = _invoke(client)
    assert isinstance(error, RunFailure)
    assert error.code == "execution_timeout"
    assert [rpc for rpc, _ in client.requests] == ["TriggerSync", "GetRun", "CancelRun"]


def test_ctrl_c_cancels_the_run_as_a_waiting_trigger_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_sync_progress, "POLL_SECONDS", 0)
    client = _Client([_running(1, 0, 1), KeyboardInterrupt()])
    result, _ = _invoke(client)
    assert result.exit_code == 130
    assert "cancelled: run run-1" in result.stderr
    assert client.requests[-1][0] == "CancelRun"
