"""The limits of a run are defined once, in ``corral.limits``: every package takes them from there.

The orchestrator's defaults, the runner's defaults (a limit of 0 in a RunRequest), the job's
and the sandbox's defaults, the idle containment of a worker and the runner's ceiling are the
core's values; and no module but ``corral/limits.py`` writes a number for a limit.
"""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest

from corral.limits import CEILING, DEFAULTS, FIELDS, RUN_KINDS
from corral.v1 import common_pb2, runner_pb2
from orchestrator._env_settings import RunLimitSettings
from orchestrator.runs._limits import limits_for
from runner._service import KIND_NAMES, job_from_request
from runner.host._containment import IDLE_LIMITS, worker_limits
from runner.host._host import Job, RunnerHost
from sandbox.os import WorkerLimits

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("corral", "orchestrator", "runner", "sandbox")
KIND_ENUM = {name: value for value, name in KIND_NAMES.items()}
WORKER_FIELDS = ("wall_seconds", "cpu_seconds", "memory_bytes", "max_open_files")


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_the_orchestrator_starts_from_the_core_defaults(kind: str) -> None:
    assert limits_for(kind, {}) == DEFAULTS[kind].to_proto()
    assert limits_for(kind, {"limits": {kind: {}}}) == DEFAULTS[kind].to_proto()


@pytest.mark.parametrize("kind", ["action", "sync", "on_event"])
def test_the_runner_fills_a_zero_limit_from_the_core_defaults(kind: str) -> None:
    request = runner_pb2.RunRequest(kind=KIND_ENUM[kind], limits=common_pb2.RunLimits())
    assert job_from_request(request).limits == DEFAULTS[kind]


def test_a_describe_request_gets_the_describe_defaults() -> None:
    describe = runner_pb2.RunContext(mode=runner_pb2.RUN_MODE_DESCRIBE)
    request = runner_pb2.RunRequest(context=describe)
    job = job_from_request(request)
    assert (job.mode, job.limits) == ("describe", DEFAULTS["describe"])


def test_the_orchestrator_and_the_runner_agree_on_every_kind() -> None:
    for kind in ("action", "sync", "on_event"):
        sent = limits_for(kind, {})
        request = runner_pb2.RunRequest(kind=KIND_ENUM[kind], limits=sent)
        assert job_from_request(request).limits == DEFAULTS[kind]


def test_a_job_and_the_sandbox_default_to_an_action() -> None:
    job = Job(run_id="r", kind="", function_name="f", entry="f.py", files={})
    assert job.limits == DEFAULTS["action"]
    action, worker = DEFAULTS["action"], WorkerLimits()
    for name in (*WORKER_FIELDS, "max_output_bytes"):
        assert getattr(worker, name) == getattr(action, name), name
    assert worker_limits({}) == WorkerLimits()


def test_the_runner_contains_idle_workers_at_the_ceiling_it_enforces() -> None:
    for name in WORKER_FIELDS:
        assert getattr(IDLE_LIMITS, name) == getattr(CEILING, name), name
    assert inspect.signature(RunnerHost).parameters["ceiling"].default is CEILING


def test_env_settings_hold_floors_only_the_ceiling_is_the_core_s() -> None:
    for name, field in RunLimitSettings.model_fields.items():
        bounds = {type(m).__name__ for m in field.metadata}
        assert not bounds & {"Le", "Lt"}, name
    assert set(RunLimitSettings.model_fields) == set(FIELDS)


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.BinOp):
        return _is_number(node.left) and _is_number(node.right)
    if isinstance(node, ast.UnaryOp):
        return _is_number(node.operand)
    return False


def _named_limit(name: str) -> bool:
    return name.lower() in FIELDS or any(f.upper() in name for f in FIELDS)


def _limit_numbers(tree: ast.AST) -> list[int]:
    """Lines where a limit (by field name, or a constant named after one) gets a number."""
    found: list[int] = []
    for node in ast.walk(tree):
        pairs: list[tuple[str, ast.expr | None]] = []
        if isinstance(node, ast.keyword) and node.arg:
            pairs.append((node.arg, node.value))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            pairs.append((node.target.id, node.value))
        elif isinstance(node, ast.Assign):
            pairs += [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.Dict):
            keys = [k.value if isinstance(k, ast.Constant) else "" for k in node.keys]
            pairs += [(str(k), v) for k, v in zip(keys, node.values, strict=True)]
        elif isinstance(node, ast.Call) and len(node.args) == 2:  # settings.get("x", 64)
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                pairs.append((key.value, node.args[1]))
        found += [
            getattr(node, "lineno", 0)
            for name, value in pairs
            if value is not None and _named_limit(name) and _is_number(value)
        ]
    return found


def _sources() -> list[pathlib.Path]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    return [p for p in files if p != ROOT / "corral" / "limits.py" and "_pb2" not in p.name]


def test_no_module_but_the_core_writes_a_number_for_a_limit() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in _sources()
        if (lines := _limit_numbers(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}


def test_the_scan_finds_the_kinds_of_duplicate_it_looks_for() -> None:
    duplicate = (
        "class Job:\n    cpu_seconds: int = 300\n"
        "DEFAULT_MAX_RUN_OUTPUT_BYTES = 1 << 30\n"
        "IDLE = WorkerLimits(memory_bytes=8 << 30)\n"
        "DEFAULTS = {'action': {'wall_seconds': 15 * 60}}\n"
        "n = merged.get('max_open_files', 64)\n"
    )
    assert sorted(_limit_numbers(ast.parse(duplicate))) == [2, 3, 4, 5, 6]
