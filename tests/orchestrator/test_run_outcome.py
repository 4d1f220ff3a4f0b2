"""A run whose outcome cannot be stored still ends: it never stays "running"."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import structlog
import structlog.testing

from corral.errors import Unavailable
from corral.v1 import runner_pb2
from orchestrator.runs._manager import RunManager, RunRequestSpec
from orchestrator.runs._tokens import RunTokens
from orchestrator.storage._areas import FunctionRow, Run
from orchestrator.storage._sqlite import SqliteStorage


class FlakyFinish(SqliteStorage):
    """Refuses the first successful finish, as a store that is briefly unavailable would."""

    refused = 0

    def finish_run(
        self, run_id: str, ok: bool, output_json: str | None, error: Mapping[str, Any] | None
    ) -> Run:
        if ok and not self.refused:
            self.refused += 1
            raise Unavailable("storage busy", code="storage_busy")
        return super().finish_run(run_id, ok, output_json, error)


class Runner:
    def __init__(self, response: runner_pb2.RunResponse) -> None:
        self.response = response

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        return self.response

    def cancel(self, run_id: str) -> bool:
        return False


def _spec(storage: SqliteStorage) -> RunRequestSpec:
    env, _ = storage.create_environment("e")
    storage.upsert_integration(
        env.id, "shop", provider="shop", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        env.id, "shop", "c1", credentials={"type": "NONE"}, connection_config={}, metadata={}
    )
    row = FunctionRow("echo", "action", "1", "", {}, {"echo.py": ""}, "echo.py", "h")
    (function,) = storage.replace_functions(env.id, "shop", [row])
    return RunRequestSpec(storage.get_environment("e"), function, "c1", {"x": 1})


def test_a_run_whose_outcome_cannot_be_stored_ends_failed(tmp_path: pathlib.Path) -> None:
    storage = FlakyFinish(tmp_path / "corral.db")
    try:
        spec = _spec(storage)
        runs = RunManager(storage, RunTokens(), Runner(runner_pb2.RunResponse(ok=True)))
        finished = runs.execute(spec, runs.start(spec))
        assert finished.state == "failed"
        assert finished.error is not None
        assert finished.error["type"] == "runner_error"
        assert "could not be stored" in finished.error["message"]
        runs.shutdown(0)
    finally:
        storage.close()


def test_a_payload_that_is_not_json_is_kept_as_text(tmp_path: pathlib.Path) -> None:
    storage = SqliteStorage(tmp_path / "corral.db")
    try:
        spec = _spec(storage)
        error = runner_pb2.RunResponse(ok=False)
        error.error.type, error.error.payload_json = "action_script_failure", "{not json"
        runs = RunManager(storage, RunTokens(), Runner(error))
        finished = runs.execute(spec, runs.start(spec))
        assert finished.state == "failed"
        assert finished.error is not None
        assert finished.error["payload"] == "{not json"
        runs.shutdown(0)
    finally:
        storage.close()


class LoggingRunner(Runner):
    """A runner client that logs while it runs, as the dispatcher's parts do."""

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        structlog.get_logger("corral.test").info("running on a runner")
        return super().run(request, timeout)


def test_every_log_line_of_a_run_carries_its_run_environment_and_connection(
    tmp_path: pathlib.Path,
) -> None:
    storage = SqliteStorage(tmp_path / "corral.db")
    try:
        spec = _spec(storage)
        runs = RunManager(storage, RunTokens(), LoggingRunner(runner_pb2.RunResponse(ok=True)))
        run = runs.start(spec)
        with structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars]
        ) as lines:
            runs.execute(spec, run)
        runs.shutdown(0)
    finally:
        storage.close()
    (line,) = [entry for entry in lines if entry["event"] == "running on a runner"]
    assert (line["run_id"], line["environment"], line["connection"]) == (run.run_id, "e", "c1")
    assert "run_id" not in structlog.contextvars.get_contextvars()
