"""Every run goes through the one dispatcher, with its typed context, within its caller's time."""

from __future__ import annotations

import ast
import json
import pathlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from corral import _providers
from corral.errors import RunFailure
from corral.v1 import common_pb2, runner_pb2
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.lifecycle._deploy import Deployer
from orchestrator.runs._dispatch import (
    RUNNER_GRACE_SECONDS,
    Dispatcher,
    RunOrder,
    pagination_defaults,
)
from orchestrator.runs._dry_runs import DryRuns
from orchestrator.runs._dry_sessions import DrySessions
from orchestrator.runs._limits import limits_for
from orchestrator.runs._manager import RunManager
from orchestrator.runs._run_request import RunRequestSpec
from orchestrator.runs._tokens import RunTokens
from orchestrator.storage._areas import Environment, FunctionRow
from orchestrator.storage._sqlite import SqliteStorage

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("corral", "orchestrator", "runner", "sandbox")


class Recorder:
    """A runner that records what it is sent, answers each run at once, and may block."""

    def __init__(self, output: Any = None) -> None:
        self.requests: list[runner_pb2.RunRequest] = []
        self.timeouts: list[float] = []
        self.cancels: list[str] = []
        self.output = output
        self.hold: threading.Event | None = None
        self.started = threading.Event()

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        self.requests.append(request)
        self.timeouts.append(timeout)
        self.started.set()
        if self.hold is not None:
            self.hold.wait(10)
            if self.cancels:
                error = common_pb2.RunError(type="execution_cancelled", message="cancelled")
                return runner_pb2.RunResponse(ok=False, error=error)
        return runner_pb2.RunResponse(ok=True, output_json=json.dumps(self.output))

    def cancel(self, run_id: str) -> bool:
        self.cancels.append(run_id)
        if self.hold is not None:
            self.hold.set()
        return True


class Caller:
    """A stand-in for a grpc.ServicerContext: a deadline, and callbacks run when it ends."""

    def __init__(self, remaining: float | None, active: bool = True) -> None:
        self.remaining = remaining
        self.active = active
        self.callbacks: list[Callable[[], None]] = []

    def time_remaining(self) -> float | None:
        return self.remaining

    def add_callback(self, callback: Callable[[], None]) -> bool:
        if not self.active:
            return False
        self.callbacks.append(callback)
        return True

    def end(self) -> None:
        self.active = False
        for callback in self.callbacks:
            callback()


@pytest.fixture
def storage(tmp_path: pathlib.Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "corral.db")
    yield opened
    opened.close()


def _env(storage: SqliteStorage, **settings: Any) -> Environment:
    env, _ = storage.create_environment("e")
    storage.set_environment_settings(env.id, settings)
    storage.upsert_integration(
        env.id, "gh", provider="github", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        env.id, "gh", "c1", credentials={"type": "NONE"}, connection_config={}, metadata={}
    )
    return storage.get_environment("e")


def _function(
    storage: SqliteStorage, env: Environment, name: str, kind: str, **config: Any
) -> FunctionRow:
    row = FunctionRow(name, kind, "1", "", config, {f"{name}.py": "x = 1"}, f"{name}.py", "h")
    (function,) = storage.replace_functions(env.id, "gh", [row])
    return function


def _calls_named(tree: ast.AST, name: str) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    )


def test_only_the_dispatcher_builds_a_run_request() -> None:
    builders = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "v1" not in path.relative_to(ROOT).parts
        and _calls_named(ast.parse(path.read_text(encoding="utf-8")), "RunRequest")
    }
    assert builders == {"orchestrator/runs/_dispatch.py"}


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[RunOrder]:
    """Records every order the dispatcher is given."""
    orders: list[RunOrder] = []
    dispatch = Dispatcher.dispatch

    def spy(
        self: Dispatcher, order: RunOrder, caller: Any = None, **how: Any
    ) -> runner_pb2.RunResponse:
        orders.append(order)
        return dispatch(self, order, caller, **how)

    monkeypatch.setattr(Dispatcher, "dispatch", spy)
    return orders


def test_every_kind_of_run_goes_through_the_dispatcher(
    storage: SqliteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = _spy(monkeypatch)
    env = _env(storage, log_level="warn", validation=False)
    runner = Recorder({"f.py": {"kind": "action"}})
    runs = RunManager(storage, RunTokens(), runner)
    legacy = {"kind": "action"}
    for name, kind, webhook in [
        ("act", "action", False),
        ("syn", "sync", False),
        ("hook", "sync", True),
        ("evt", "on_event", False),
    ]:
        function = _function(storage, env, name, kind, legacy_config=legacy)
        spec = RunRequestSpec(env, function, "c1", {"n": 1}, "eu", webhook=webhook)
        assert runs.execute(spec, runs.start(spec)).state == "succeeded"
    Deployer(storage, runs.dispatcher).deploy(env, "gh", {"f.py": "x = 1"}, {"f.py": legacy})
    dry = DryRuns(storage, DrySessions(), runs.dispatcher)
    request = pb.DryRunRequest(connection_id="c1", entry="f.py", files={"f.py": "x = 1"})
    events = list(dry.stream(env, request))
    dry.shutdown()
    assert events[-1].result.ok

    kinds = ["action", "sync", "webhook", "on_event", "describe", "dry"]
    assert [order.kind for order in orders] == kinds
    assert len(runner.requests) == len(kinds)  # nothing reached the runner past the dispatcher
    act, syn, hook, evt, describe, dry_run = (r.context for r in runner.requests)
    assert [r.kind for r in runner.requests] == [
        common_pb2.FUNCTION_KIND_ACTION,
        common_pb2.FUNCTION_KIND_SYNC,
        common_pb2.FUNCTION_KIND_SYNC,
        common_pb2.FUNCTION_KIND_ON_EVENT,
        common_pb2.FUNCTION_KIND_UNSPECIFIED,
        common_pb2.FUNCTION_KIND_UNSPECIFIED,
    ]
    assert [c.mode for c in (act, syn, evt, dry_run)] == [runner_pb2.RUN_MODE_RUN] * 4
    assert hook.mode == runner_pb2.RUN_MODE_WEBHOOK
    assert describe.mode == runner_pb2.RUN_MODE_DESCRIBE
    assert dict(describe.legacy_configs_json) == {"f.py": json.dumps(legacy)}
    assert json.loads(act.legacy_config_json) == legacy
    assert (act.variant, act.log_level, act.skip_validation) == ("eu", "warn", True)
    assert dry_run.log_level == "debug"  # a dry run shows every line
    assert (act.provider, act.pagination.type) == ("github", "link")
    assert (act.environment, act.connection_id) == ("e", "c1")
    for request in runner.requests:  # only runs of a connection carry a token
        assert bool(request.run_token) == (request.context.mode != runner_pb2.RUN_MODE_DESCRIBE)


def test_a_run_started_through_its_target_reads_its_integration_no_more(
    storage: SqliteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API's triggers read the function and its integration's provider in one statement
    # (RunManager.target_for); the dispatch then takes the provider from the spec.
    env = _env(storage)
    runner = Recorder({"f.py": {"kind": "action"}})
    runs = RunManager(storage, RunTokens(), runner)
    _function(storage, env, "act", "action")
    function, provider = runs.target_for(env, "c1", "act", "action")
    read: list[str] = []
    real = SqliteStorage.get_integration

    def counted(self: SqliteStorage, env_id: int, key: str) -> Any:
        read.append(key)
        return real(self, env_id, key)

    monkeypatch.setattr(SqliteStorage, "get_integration", counted)
    spec = RunRequestSpec(env, function, "c1", None, provider=provider)
    assert runs.execute(spec, runs.start(spec)).state == "succeeded"
    without = RunRequestSpec(env, function, "c1", None)
    assert runs.execute(without, runs.start(without)).state == "succeeded"

    assert read == ["gh"]  # the second run's only
    assert [request.context.provider for request in runner.requests] == ["github", "github"]


def test_a_run_without_legacy_configuration_sends_none(storage: SqliteStorage) -> None:
    env = _env(storage)
    runner = Recorder()
    runs = RunManager(storage, RunTokens(), runner)
    spec = RunRequestSpec(env, _function(storage, env, "act", "action"), "c1")
    runs.execute(spec, runs.start(spec))
    (request,) = runner.requests
    assert request.context.legacy_config_json == ""
    assert (request.context.log_level, request.context.skip_validation) == ("info", False)


def _order(env: Environment, wall_seconds: float = 30) -> RunOrder:
    limits = limits_for("action", env.settings)
    limits.wall_seconds = wall_seconds
    return RunOrder(kind="action", env=env, run_id="r1", entry="a.py", files={}, limits=limits)


def test_the_runner_gets_no_more_time_than_the_caller_has(storage: SqliteStorage) -> None:
    env = _env(storage)
    runner = Recorder()
    dispatcher = Dispatcher(storage, RunTokens(), runner)
    dispatcher.dispatch(_order(env), Caller(remaining=2.5))
    dispatcher.dispatch(_order(env), Caller(remaining=None))
    dispatcher.dispatch(_order(env), Caller(remaining=1e18))  # gRPC's "no deadline"
    dispatcher.dispatch(_order(env))
    limit = 30 + RUNNER_GRACE_SECONDS
    assert runner.timeouts[0] <= 2.5
    assert runner.timeouts[1:] == [limit, limit, limit]


def test_a_caller_already_gone_starts_no_run(storage: SqliteStorage) -> None:
    runner = Recorder()
    dispatcher = Dispatcher(storage, RunTokens(), runner)
    with pytest.raises(RunFailure) as caught:
        dispatcher.dispatch(_order(_env(storage)), Caller(remaining=5, active=False))
    assert caught.value.code == "execution_cancelled"
    assert runner.requests == []


def test_a_caller_that_goes_away_cancels_the_run(storage: SqliteStorage) -> None:
    runner = Recorder()
    runner.hold = threading.Event()
    dispatcher = Dispatcher(storage, RunTokens(), runner)
    caller = Caller(remaining=60)
    answers: list[runner_pb2.RunResponse] = []
    thread = threading.Thread(
        target=lambda: answers.append(dispatcher.dispatch(_order(_env(storage)), caller))
    )
    thread.start()
    assert runner.started.wait(10)
    caller.end()
    thread.join(10)
    assert runner.cancels == ["r1"]
    assert answers[0].error.type == "execution_cancelled"


def test_a_caller_answered_cancels_nothing(storage: SqliteStorage) -> None:
    runner = Recorder()
    caller = Caller(remaining=60)
    Dispatcher(storage, RunTokens(), runner).dispatch(_order(_env(storage)), caller)
    caller.end()  # gRPC calls the callbacks when the answered call ends
    assert runner.cancels == []


def test_every_providers_pagination_defaults_are_typed() -> None:
    fields = set(runner_pb2.PaginationDefaults.DESCRIPTOR.fields_by_name)
    catalogue = json.loads((ROOT / "corral" / "providers.json").read_text())
    names = [name for name in catalogue if not name.startswith("_")]
    paginated = [p for p in map(_providers.provider, names) if p is not None and p.paginate]
    assert paginated
    for known in paginated:
        assert set(known.paginate) <= fields, known
        typed = pagination_defaults(known.paginate)
        assert {f.name: v for f, v in typed.ListFields()} == dict(known.paginate)
