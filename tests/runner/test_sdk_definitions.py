"""create_sync / create_action / create_on_event through the worker: fields, defaults,
frequencies, and the errors a deploy reports with the file and line."""

from __future__ import annotations

import pytest

from corral._frequency import parse_frequency
from corral.errors import RunFailure
from runner._context import RunContext
from runner.host._host import RunnerHost
from tests.runner.sdk_support import error_of, run

SYNC = """
from nango import create_sync
from pydantic import BaseModel

class Item(BaseModel):
    id: str

class Cursor(BaseModel):
    after: str

def fetch(nango):
    pass

def on_hook(nango, payload):
    pass

sync = create_sync(
    description='items',
    version='2.0.0',
    frequency={frequency!r},
    models={{'Item': Item}},
    checkpoint=Cursor,
    metadata=None,
    on_webhook=on_hook,
    webhook_subscriptions=['*'],
    scopes=['read:items'],
    track_deletes=True,
    endpoints=[{{'method': 'GET', 'path': '/items'}}],
    sync_type='full',
    exec=fetch,
)
"""


def _describe(host: RunnerHost, files: dict[str, str], legacy: dict[str, object] | None = None):
    return run(host, files, mode="describe", context=RunContext(legacy_by_file=legacy or {}))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("every 1 minute", 60),
        ("every minute", 60),
        ("every hour", 3600),
        ("every 2 days", 172_800),
        ("every half hour", 1800),
        ("every quarter hour", 900),
        ("every half day", 43_200),
        ("every 3 week", 1_814_400),
        ("3 week", 1_814_400),
        ("every 3 weeks", 1_814_400),
        ("30 seconds", 30),
        ("every 30s", 30),
        ("every 1.5h", 5400),
        ("Every  2   Hours", 7200),
        ("every day", 86_400),
        ("every week", 604_800),
        ("every month", 2_592_000),
        ("every 5m", 300),
        ("every 60000", 60),
    ],
)
def test_frequencies_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_frequency(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("every 29 seconds", "shortest interval is 30 seconds"),
        ("every 10s", "shortest interval"),
        ("every 100", "shortest interval"),
        ("every fortnight", "unknown unit"),
        ("sometimes", "unknown unit"),
        ("every 2 blorps", "unknown unit"),
        ("every", "unknown unit"),
        ("", "needs a frequency"),
        ("every -1 hours", "must be positive"),
        ("every hour and a half", "expected a number and a unit"),
    ],
)
def test_invalid_frequencies_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(RunFailure) as caught:
        parse_frequency(text)
    assert caught.value.code == "invalid_definition"
    assert why in caught.value.message


def test_every_field_of_the_seed_is_accepted_and_described(sdk_host: RunnerHost) -> None:
    outcome = _describe(sdk_host, {"items.py": SYNC.format(frequency="every 2 days")})
    assert outcome.ok, outcome.error
    described = outcome.output["items.py"]
    assert described["kind"] == "sync"
    assert described["frequency"] == "every 2 days"
    assert described["frequency_seconds"] == 172_800
    assert described["auto_start"] is True
    assert described["models"]["Item"]["name"] == "Item"
    assert described["checkpoint"]["name"] == "Cursor"
    assert described["has_webhook_handler"] is True
    assert described["webhook_subscriptions"] == ["*"]
    assert described["scopes"] == ["read:items"]
    assert described["track_deletes"] is True
    assert described["endpoints"] == [{"method": "GET", "path": "/items"}]
    assert described["sync_type"] == "full"
    assert described["metadata"] is None


def test_auto_start_defaults_to_true_and_can_be_turned_off(sdk_host: RunnerHost) -> None:
    source = (
        "from nango import create_sync\n"
        "a = create_sync(description='d', frequency='every hour', exec=lambda nango: None)\n"
    )
    off = source.replace("exec=", "auto_start=False, exec=")
    outcome = _describe(sdk_host, {"a.py": source, "b.py": off})
    assert outcome.ok, outcome.error
    assert outcome.output["a.py"]["auto_start"] is True
    assert outcome.output["b.py"]["auto_start"] is False


def test_action_and_on_event_fields(sdk_host: RunnerHost) -> None:
    files = {
        "act.py": (
            "from nango import create_action\n"
            "from pydantic import BaseModel\n"
            "class In(BaseModel):\n    title: str\n"
            "class Out(BaseModel):\n    id: str\n"
            "action = create_action(description='d', version='1', input=In, output=Out,\n"
            "    metadata=None, scopes=['w'], endpoint={'method': 'POST', 'path': '/x'},\n"
            "    exec=lambda nango, input: {'id': '1'})\n"
        ),
        "hook.py": (
            "from nango import create_on_event\n"
            "on = create_on_event(description='d', version='1', event='validate-connection',\n"
            "    metadata=None, exec=lambda nango: None)\n"
        ),
    }
    outcome = _describe(sdk_host, files)
    assert outcome.ok, outcome.error
    assert outcome.output["act.py"]["input"]["name"] == "In"
    assert outcome.output["act.py"]["endpoint"] == {"method": "POST", "path": "/x"}
    assert outcome.output["hook.py"]["event"] == "validate-connection"


@pytest.mark.parametrize(
    ("frequency", "message"),
    [("every 10 seconds", "shortest interval"), ("whenever", "invalid frequency")],
)
def test_an_invalid_frequency_fails_the_describe_naming_file_and_line(
    sdk_host: RunnerHost, frequency: str, message: str
) -> None:
    files = {"helpers.py": "X = 1\n", "items.py": SYNC.format(frequency=frequency)}
    error = error_of(_describe(sdk_host, files))
    assert error["type"] == "invalid_definition"
    assert message in error["message"]
    assert error["file"] == "items.py"
    assert error["line"] == SYNC.splitlines().index("sync = create_sync(") + 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("create_sync(description='d', exec=f)", "'frequency' is required"),
        ("create_sync(frequency='every hour', exec=f, colour='red')", "unknown field(s) colour"),
        ("create_sync(frequency='every hour', exec=f, auto_start='yes')", "auto_start must be"),
        ("create_sync(frequency='every hour', exec=f, models={'A': dict})", "model 'A'"),
        ("create_sync(frequency='every hour', exec=f, scopes='read')", "scopes must be a list"),
        ("create_sync(frequency='every hour', exec=f, sync_type='daily')", "sync_type must be"),
        ("create_sync(frequency='every hour', exec=1)", "'exec' must be a function"),
        ("create_action(exec=f, input=5)", "input must be a pydantic"),
        ("create_on_event(event='on-tuesday', exec=f)", "event must be one of"),
    ],
)
def test_wrong_definitions_are_invalid_definition(
    sdk_host: RunnerHost, call: str, message: str
) -> None:
    source = (
        "from nango import create_sync, create_action, create_on_event\n"
        "def f(nango):\n    pass\n"
        f"x = {call}\n"
    )
    error = error_of(_describe(sdk_host, {"bad.py": source}))
    assert error["type"] == "invalid_definition"
    assert message in error["message"]
    assert (error["file"], error["line"]) == ("bad.py", 4)
