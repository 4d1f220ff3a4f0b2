"""A guard violation reaches the runner when it happens: function code that catches it never
runs another line, and nothing it would send afterwards counts."""

from __future__ import annotations

import os

from runner.host._host import Job, RunnerHost
from tests.runner.hostile import Answers

CATCHES = """
from nango import create_action

def run(nango, input):
    try:
        secret = nango.__class__
    except Exception:
        pass
    nango.log("after the violation")
    return {"escaped": False}

action = create_action(description="t", exec=run)
"""

CATCHES_AT_RUN_TIME = """
from nango import create_action

def run(nango, input):
    name = "_" + "_class__"
    for attempt in range(3):
        try:
            getattr(nango, name)
        except BaseException:
            nango.log("caught", attempt)
    return {"escaped": False}

action = create_action(description="t", exec=run)
"""


def _job(source: str) -> Job:
    return Job(
        run_id=f"v-{os.urandom(4).hex()}",
        kind="action",
        function_name="f",
        entry="f.py",
        files={"f.py": source},
        input={},
    )


def test_a_caught_violation_ends_the_run_where_it_happened(sdk_host: RunnerHost) -> None:
    handler = Answers()
    outcome = sdk_host.execute(_job(CATCHES_AT_RUN_TIME), handler)
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error["type"] == "sandbox_violation", outcome.error
    assert outcome.error["file"] == "f.py"
    assert outcome.error["line"] == 8
    assert isinstance(outcome.error["payload"]["rule"], str)
    assert handler.calls == []  # not one line ran after the refusal


def test_a_violation_the_compiler_sees_is_a_compile_error(sdk_host: RunnerHost) -> None:
    outcome = sdk_host.execute(_job(CATCHES), Answers())
    assert outcome.error is not None
    assert outcome.error["type"] == "compile_error"


def test_the_worker_serves_the_next_run_after_a_violation(sdk_host: RunnerHost) -> None:
    sdk_host.execute(_job(CATCHES_AT_RUN_TIME), Answers())
    fine = CATCHES_AT_RUN_TIME.replace('"_" + "_class__"', '"connection_id"')
    outcome = sdk_host.execute(_job(fine), Answers())
    assert outcome.ok, outcome.error
