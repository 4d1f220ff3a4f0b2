"""The example functions: each replays its recorded fixture, and the paths a fixture cannot show
(a webhook, an ActionError) run through the real worker too."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from runner._context import RunContext
from runner.host._host import Job, RunnerHost
from runner.host._warm import warm
from tests.runner.by_method import ByMethod

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
FUNCTIONS = sorted(p for p in EXAMPLES.glob("*/*.py") if p.with_suffix(".test.json").exists())


def dryrun(path: pathlib.Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "corral", "dryrun", str(path), "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, json.loads(result.stdout or result.stderr)


def test_there_are_eight_recorded_examples() -> None:
    assert len(FUNCTIONS) >= 8


@pytest.mark.parametrize("path", FUNCTIONS, ids=[f"{p.parent.name}/{p.stem}" for p in FUNCTIONS])
def test_each_example_replays_its_recording(path: pathlib.Path) -> None:
    fixture = json.loads(path.with_suffix(".test.json").read_text())
    code, result = dryrun(path, "--fixture", str(path.with_suffix(".test.json")))
    assert code == 0, result
    if "output" in fixture:
        assert result["output"] == fixture["output"]
    for model, records in fixture["nango"].get("batchSave", {}).items():
        assert result["records"][model] == records


def test_an_existing_contact_is_an_action_error(tmp_path: pathlib.Path) -> None:
    recorded = {
        "input": {"email": "taken@example.com"},
        "nango": {},
        "api": {
            "post": {
                "/crm/v3/objects/contacts": {
                    "response": {"message": "Contact already exists"},
                    "status": 409,
                    "headers": {},
                }
            }
        },
    }
    fixture = tmp_path / "create_contact.test.json"
    fixture.write_text(json.dumps(recorded))
    code, result = dryrun(EXAMPLES / "hubspot" / "create_contact.py", "--fixture", str(fixture))
    assert code == 1
    assert result["error"]["type"] == "action_script_failure"
    assert result["error"]["payload"] == {"reason": "contact_exists", "email": "taken@example.com"}


class Recorder(ByMethod):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        self.calls.append((method, args))
        return {"updated": 1}


@pytest.fixture(scope="module")
def host() -> Iterator[RunnerHost]:
    from runner.host._containment import make_containment  # noqa: PLC0415

    containment, _ = make_containment(strict=False)
    runner_host = RunnerHost(containment, warm, prewarm=0)
    yield runner_host
    runner_host.close()


def test_the_webhook_handler_applies_a_cancellation(host: RunnerHost) -> None:
    files = {"events.py": (EXAMPLES / "calendly" / "events.py").read_text()}
    payload = {
        "event": "invitee.canceled",
        "payload": {
            "scheduled_event": {"uri": "https://api.calendly.example/scheduled_events/EV2"}
        },
    }
    job = Job(
        run_id="w1",
        kind="sync",
        function_name="events",
        entry="events.py",
        files=files,
        input=payload,
        context=RunContext(webhook=True),
    )
    handler = Recorder()
    outcome = host.execute(job, handler)
    assert outcome.ok, outcome.error
    assert handler.calls == [
        ("batch_update", {"model": "Event", "records": [{"id": "EV2", "status": "canceled"}]})
    ]


def test_corral_test_passes_every_example() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "corral", "test", str(EXAMPLES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(FUNCTIONS)} passed, 0 failed" in result.stdout
