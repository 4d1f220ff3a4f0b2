"""A run whose outcome cannot be stored still ends: it never stays "running"."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import structlog
import structlog.testing

from corral.errors import Unavailable
from corral.v1 import runner_pb2
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.runs._manager import RunManager, RunRequestSpec
from orchestrator.runs._tokens import RunScope, RunTokens
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


class TimedRunner(Runner):
    """A runner client that keeps the timeout each run was given."""

    timeouts: list[float]

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        self.timeouts.append(timeout)
        return super().run(request, timeout)


class ParentCall:
    """The parent run's TriggerAction callback call: 3 s left of its deadline."""

    ended: list[Any]

    def time_remaining(self) -> float:
        return 3.0

    def add_callback(self, callback: Any) -> bool:
        self.ended.append(callback)
        return True


def test_a_nested_action_is_bounded_by_its_parents_call(tmp_path: pathlib.Path) -> None:
    storage = SqliteStorage(tmp_path / "corral.db")
    try:
        spec = _spec(storage)
        runner = TimedRunner(runner_pb2.RunResponse(ok=True, output_json='{"y": 2}'))
        runner.timeouts = []
        runs = RunManager(storage, RunTokens(), runner)
        parent_run = runs.start(spec)
        parent = RunScope(
            env_id=spec.env.id,
            run_id=parent_run.run_id,
            connection_id="c1",
            integration_key="shop",
            function_name="echo",
            kind="action",
            variant="base",
        )
        call = ParentCall()
        call.ended = []
        assert runs.run_nested(parent, "echo", {"x": 1}, caller=call) == {"y": 2}
        runs.shutdown(0)
    finally:
        storage.close()
    assert len(runner.timeouts) == 1
    assert runner.timeouts[0] <= 3.0
    assert len(call.ended) == 1  # the parent's call ending would cancel the nested run


def test_a_connections_validation_is_bounded_by_the_create_call(tmp_path: pathlib.Path) -> None:
    storage = SqliteStorage(tmp_path / "corral.db")
    try:
        spec = _spec(storage)
        check = FunctionRow(
            "check",
            "on_event",
            "1",
            "",
            {"event": "validate-connection"},
            {"check.py": ""},
            "check.py",
            "h2",
        )
        storage.replace_functions(spec.env.id, "shop", [check])
        runner = TimedRunner(runner_pb2.RunResponse(ok=True, output_json="true"))
        runner.timeouts = []
        runs = RunManager(storage, RunTokens(), runner)
        call = ParentCall()
        call.ended = []
        Lifecycle(storage, runs).connection_created(spec.env, "shop", "c1", caller=call)
        runs.shutdown(0)
    finally:
        storage.close()
    assert len(runner.timeouts) == 1
    assert runner.timeouts[0] <= 3.0
    assert len(call.ended) == 1
