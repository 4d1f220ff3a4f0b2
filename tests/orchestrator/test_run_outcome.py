"""A run whose outcome cannot be stored still ends: it never stays "running"."""

from __future__ import annotations

import json
import pathlib
import sqlite3
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import pytest
import structlog
import structlog.testing

from corral.errors import Unavailable
from corral.v1 import runner_pb2
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.runs import _unstored
from orchestrator.runs._manager import RunManager
from orchestrator.runs._recovery import end_interrupted_runs
from orchestrator.runs._run_request import RunRequestSpec
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import FunctionRow, NewRun, Run
from orchestrator.storage._sqlite import SqliteStorage
from tests.support.processes import wait_for


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


def test_a_payload_that_is_not_json_fails_the_run_typed(tmp_path: pathlib.Path) -> None:
    """A runner writes payloads as JSON: one that is not was made up by a breached runner
    (``orchestrator.runs._runner_reply``; ``tests/orchestrator/test_runner_reply.py``)."""
    storage = SqliteStorage(tmp_path / "corral.db")
    try:
        spec = _spec(storage)
        error = runner_pb2.RunResponse(ok=False)
        error.error.type, error.error.payload_json = "action_script_failure", "{not json"
        runs = RunManager(storage, RunTokens(), Runner(error))
        finished = runs.execute(spec, runs.start(spec))
        assert finished.state == "failed"
        assert finished.error is not None
        assert finished.error["type"] == "runner_error"
        assert "payload is not valid JSON" in finished.error["message"]
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


class SizedStore(SqliteStorage):
    """A store with SQLite's own size limit (``max_page_count``) on every connection, the
    ones of threads that start later included: a disk that fills up, then has room again."""

    limit: int | None = None

    def _open(self) -> sqlite3.Connection:
        connection = super()._open()
        if self.limit is not None:
            connection.execute(f"PRAGMA max_page_count = {self.limit}")
        return connection

    def set_limit(self, pages: int | None) -> None:
        self.limit = pages
        with self._connections_lock:
            connections = list(self._connections.values())
        for connection in connections:
            connection.execute(f"PRAGMA max_page_count = {pages or 1073741823}")

    def fill(self, env_id: int) -> None:
        """Limits the store to about its size and adds small runs until it refuses one."""
        pages = self._connection().execute("PRAGMA page_count").fetchone()[0]
        self.set_limit(pages + 2)
        refused = ""
        for _ in range(10_000):
            try:
                self.create_run(env_id, NewRun("echo", "shop", "action", "c1", "base", "null"))
            except Unavailable as exc:
                refused = f"{exc.code}/{exc.details.get('reason')}"
                break
        assert refused == "storage_unavailable/disk_full", "the store never filled up"


class FillingRunner(Runner):
    """A runner whose run ends while the disk fills up, with an outcome that needs room."""

    storage: SizedStore
    env_id: int

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        self.storage.fill(self.env_id)
        return super().run(request, timeout)


def test_an_outcome_the_full_store_refused_is_stored_once_it_has_room(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_unstored, "FIRST_RETRY_SECONDS", 0.2)
    monkeypatch.setattr(_unstored, "MAX_RETRY_SECONDS", 0.4)
    storage = SizedStore(tmp_path / "corral.db")
    output = json.dumps({"big": "x" * 20_000})
    try:
        spec = _spec(storage)
        runner = FillingRunner(runner_pb2.RunResponse(ok=True, output_json=output))
        runner.storage, runner.env_id = storage, spec.env.id
        runs = RunManager(storage, RunTokens(), runner)
        run = runs.start(spec)
        with structlog.testing.capture_logs() as logs:
            with pytest.raises(Unavailable) as caught:
                runs.execute(spec, run)
            # The caller learns the run's id, and that a retry would run it again.
            assert caught.value.code == "storage_unavailable"
            assert not caught.value.retryable
            assert caught.value.details["run_id"] == run.run_id
            assert caught.value.details["reason"] == "disk_full"
            assert run.run_id in caught.value.message
            # Neither the outcome nor the fallback error fit: the run waits, still running,
            # and the retries keep failing while the disk is full.
            assert _eventually(lambda: _logged(logs, "run outcome still not stored") >= 2)
            assert storage.get_run(spec.env.id, run.run_id).state == "running"
            storage.set_limit(None)  # room again: no restart needed
            assert _eventually(lambda: storage.get_run(spec.env.id, run.run_id).state != "running")
        stored = storage.get_run(spec.env.id, run.run_id)
        assert (stored.state, stored.output_json) == ("succeeded", output)
        assert _logged(logs, "run outcome stored after the store could write again") == 1
        runs.shutdown(0)
    finally:
        storage.close()


def test_an_outcome_still_refused_at_shutdown_is_left_to_recovery(
    tmp_path: pathlib.Path,
) -> None:
    storage = SizedStore(tmp_path / "corral.db")
    try:
        spec = _spec(storage)
        runner = FillingRunner(
            runner_pb2.RunResponse(ok=True, output_json=json.dumps("y" * 20_000))
        )
        runner.storage, runner.env_id = storage, spec.env.id
        runs = RunManager(storage, RunTokens(), runner)
        run = runs.start(spec)
        with pytest.raises(Unavailable):
            runs.execute(spec, run)
        with structlog.testing.capture_logs() as logs:
            runs.shutdown(0)  # tries once more: the disk is still full
        (line,) = [x for x in logs if x["event"] == "run outcomes not stored at shutdown"]
        assert line["runs"] == [run.run_id]
        storage.set_limit(None)
        # The next start ends it (the store is left as a killed process would leave it).
        assert run.run_id in end_interrupted_runs(storage)
        ended = storage.get_run(spec.env.id, run.run_id)
        assert ended.error is not None
        assert (ended.state, ended.error["type"]) == ("failed", "orchestrator_restarted")
    finally:
        storage.close()


def test_outcomes_beyond_the_bound_are_dropped_and_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_unstored, "MAX_KEPT", 2)
    monkeypatch.setattr(_unstored, "FIRST_RETRY_SECONDS", 60.0)
    outcomes = _unstored.UnstoredOutcomes()

    def refused() -> object:
        raise Unavailable("full", code="storage_unavailable", details={"reason": "disk_full"})

    with structlog.testing.capture_logs() as logs:
        assert outcomes.keep("r1", refused)
        assert outcomes.keep("r2", refused)
        assert not outcomes.keep("r3", refused)
        assert outcomes.stop() == ["r1", "r2"]
    (dropped,) = [x for x in logs if x["event"].startswith("run outcome dropped")]
    assert dropped["run_id"] == "r3"


def _logged(logs: list[MutableMapping[str, Any]], event: str) -> int:
    return sum(1 for line in list(logs) if line["event"] == event)


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    return wait_for(check, timeout)
