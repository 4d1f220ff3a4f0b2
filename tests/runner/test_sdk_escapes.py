"""Attacks on the real `nango` object, its errors and its responses, through the real worker.

Every file in ``sdk_escapes/`` is customer code declaring what must happen
(``# expect: compile_error | sandbox_violation | runtime_error``; ``# kind: sync`` for a sync,
an action otherwise; ``# validation: off`` for an environment that turned validation off). It
runs in a contained
worker with the production SDK; the run must fail that way and never succeed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from corral.errors import PermissionDenied, RunFailure
from runner._context import RunContext
from runner._service import run_response
from runner.host._host import Job, Outcome, RunnerHost
from runner.host._warm import warm
from tests.runner.by_method import ByMethod

CASES = sorted((Path(__file__).parent / "sdk_escapes").glob("*.py"))


class Api(ByMethod):
    """Answers the SDK calls these attacks make."""

    def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        if method == "proxy":
            missing = args["endpoint"] == "/missing"
            paged = args["endpoint"] == "/paged"  # a first page whose body links to a second
            body = json.dumps(
                {"error": "nope"} if missing else {"next": "/paged-2"} if paged else []
            ).encode()
            return {
                "status": 404 if missing else 200,
                "headers": [["content-type", "application/json"]],
                "body": body,
                "url": args["endpoint"],
                "method": "GET",
            }
        if method == "get_connection":
            return _own_connection(args)
        if method == "trigger_action":
            raise RunFailure(
                "action_script_failure", "the nested action failed", payload={"k": "v"}
            )
        return None


def _own_connection(args: dict[str, Any]) -> dict[str, Any]:
    """The run's connection, as the orchestrator serves it: any override naming another is
    refused there (orchestrator/callbacks), so here too."""
    if args.get("provider_config_key_override") or args.get("connection_id_override"):
        raise PermissionDenied("another connection", code="connection_override_refused")
    return {"connection_id": "c1", "provider_config_key": "shop"}


@pytest.fixture(scope="module")
def host() -> Iterator[RunnerHost]:
    from runner.host._containment import make_containment  # noqa: PLC0415

    containment, layers = make_containment(strict=False)
    runner_host = RunnerHost(containment, warm, prewarm=1, layers=layers)
    yield runner_host
    runner_host.close()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_attack_fails_as_declared(host: RunnerHost, path: Path) -> None:
    source = path.read_text()
    match = re.search(r"^# expect: (\w+)", source, re.MULTILINE)
    assert match, "missing '# expect:' header"
    expected = match.group(1)
    kind = re.search(r"^# kind: (\w+)", source, re.MULTILINE)
    validation = re.search(r"^# validation: off$", source, re.MULTILINE) is None
    job = Job(
        run_id=path.stem,
        kind=kind.group(1) if kind else "action",
        function_name=path.stem,
        entry=path.name,
        files={path.name: source},
        input={},
        context=RunContext(validate=validation),
    )
    _fails_as(expected, host.execute(job, Api()))
    if expected == "compile_error":
        return
    # Again, from the code a compile run made of the same file (runner/host/_compiled.py):
    # the guards are in the compiled code, whichever worker compiled it.
    deadline = time.monotonic() + 30
    while host._compiled.codes_for(job) is None:
        assert time.monotonic() < deadline, "no compile run kept the program"
        time.sleep(0.01)
    _fails_as(expected, host.execute(replace(job, run_id=f"{path.stem}-again"), Api()))


def _fails_as(expected: str, outcome: Outcome) -> None:
    run_response(outcome)  # whatever the function did, the runner can answer its Run RPC
    assert not outcome.ok, f"the attack succeeded: {outcome.output!r}"
    assert outcome.error is not None
    kind = outcome.error["type"]
    if expected in {"compile_error", "sandbox_violation"}:
        assert kind == expected, outcome.error
    else:
        assert kind not in {"compile_error", "sandbox_violation", "runner_error"}, outcome.error


def test_the_corpus_covers_the_sdk_surface() -> None:
    assert len(CASES) >= 20
