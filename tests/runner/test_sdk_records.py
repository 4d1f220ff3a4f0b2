"""Records, checkpoints and validation in the worker: what reaches the orchestrator, in which
chunks, and the typed errors for values that do not match their models."""

from __future__ import annotations

from typing import Any

import pytest

from runner._context import RunContext
from runner.host._host import RunnerHost
from runner.sdk._nango import IDS_PER_CALL, RECORDS_PER_CALL
from tests.runner.sdk_support import Scripted, error_of, run

MODELS = """
from nango import create_sync
from pydantic import BaseModel

class Item(BaseModel):
    id: str
    name: str
    note: str | None = None

class Cursor(BaseModel):
    after: str

def fetch(nango):
{body}

sync = create_sync(description='d', frequency='every hour', models={{'Item': Item}},
                   checkpoint=Cursor, exec=fetch)
"""


def _sync(host: RunnerHost, body: str, handler: Scripted | None = None, **context: Any):
    source = MODELS.format(body="\n".join("    " + line for line in body.splitlines()))
    return run(host, {"items.py": source}, handler, kind="sync", context=RunContext(**context))


def test_records_are_sent_as_json_with_unset_fields_left_out(sdk_host: RunnerHost) -> None:
    handler = Scripted()
    body = (
        "nango.batch_save([Item(id='1', name='a'), Item(id='2', name='b', note=None),\n"
        "    {'id': '3', 'name': 'c'}], 'Item')"
    )
    outcome = _sync(sdk_host, body, handler)
    assert outcome.ok, outcome.error
    (call,) = handler.args_of("batch_save")
    assert call == {
        "model": "Item",
        "records": [
            {"id": "1", "name": "a"},
            {"id": "2", "name": "b", "note": None},
            {"id": "3", "name": "c"},
        ],
    }


def test_large_lists_are_sent_in_chunks(sdk_host: RunnerHost) -> None:
    handler = Scripted({"get_records_by_id": lambda args: {i: {"id": i} for i in args["ids"][:1]}})
    body = (
        "items = [{'id': str(i), 'name': 'n'} for i in range(2500)]\n"
        "nango.batch_save(items, 'Item')\n"
        "nango.batch_delete(items, 'Item')\n"
        "nango.batch_update(items, 'Item')\n"
        "found = nango.get_records_by_id([str(i) for i in range(2100)], 'Item')\n"
        "nango.log('found', {'n': len(found)})"
    )
    outcome = _sync(sdk_host, body, handler)
    assert outcome.ok, outcome.error
    for method in ("batch_save", "batch_delete", "batch_update"):
        sizes = [len(a["records"]) for a in handler.args_of(method)]
        assert sizes == [RECORDS_PER_CALL, RECORDS_PER_CALL, 500], method
    assert [len(a["ids"]) for a in handler.args_of("get_records_by_id")] == [
        IDS_PER_CALL,
        IDS_PER_CALL,
        100,
    ]
    assert handler.args_of("log")[0]["meta"] == [{"n": 3}]


def test_an_invalid_record_is_invalid_sync_record_with_the_errors(sdk_host: RunnerHost) -> None:
    handler = Scripted()
    outcome = _sync(sdk_host, "nango.batch_save([{'id': '1'}], 'Item')", handler)
    error = error_of(outcome)
    assert error["type"] == "invalid_sync_record"
    assert error["payload"] == [{"loc": ["name"], "msg": "Field required", "type": "missing"}]
    assert error["file"] == "items.py"
    assert not handler.args_of("batch_save")


def test_validation_off_stores_records_as_they_are(sdk_host: RunnerHost) -> None:
    handler = Scripted()
    outcome = _sync(
        sdk_host, "nango.batch_save([{'id': '1', 'extra': [1]}], 'Item')", handler, validate=False
    )
    assert outcome.ok, outcome.error
    assert handler.args_of("batch_save")[0]["records"] == [{"id": "1", "extra": [1]}]


@pytest.mark.parametrize(
    ("body", "message", "validate"),
    [
        (
            "nango.batch_save([{'id': '1', 'name': 'a'}], 'Itme')",
            "not one of the sync's models",
            True,
        ),
        ("nango.batch_delete([{'id': ''}], 'Item')", "non-empty string or an integer", True),
        (
            "nango.batch_save([{'id': '1', 'name': 'a'}, {'id': '', 'name': 'b'}], 'Item')",
            "non-empty string or an integer: ''",
            True,
        ),
        ("nango.batch_update([{'name': 'x'}], 'Item')", "non-empty string or an integer", True),
        ("nango.batch_save({'id': '1'}, 'Item')", "given as a list", True),
        ("nango.track_deletes_start('Nope')", "not one of the sync's models", True),
        # record ids are checked without validation too
        ("nango.batch_save([{'id': '1'}, {'name': 'x'}], 'Item')", "an integer: None", False),
        ("nango.batch_save([{'id': 1}, {'id': True}], 'Item')", "an integer: True", False),
        ("nango.batch_save([{'id': 1}, [1]], 'Item')", "a record must be an object", False),
        # and the model's name (a string, one of the sync's models), as every record call does
        ("nango.batch_save([{'id': '1'}], None)", "a non-empty string", False),
        ("nango.batch_save([], 5)", "a non-empty string", False),
        ("nango.batch_save([{'id': str(i)} for i in range(60)], 5)", "a non-empty string", False),
        ("nango.batch_save([{'id': '1'}], 'Itme')", "not one of the sync's models", False),
    ],
)
def test_wrong_record_calls_are_refused_before_sending(
    sdk_host: RunnerHost, body: str, message: str, validate: bool
) -> None:
    handler = Scripted()
    error = error_of(_sync(sdk_host, body, handler, validate=validate))
    assert error["type"] == "invalid_sync_record"
    assert message in error["message"]
    assert not handler.calls


def test_checkpoints_are_validated_against_the_model(sdk_host: RunnerHost) -> None:
    handler = Scripted({"get_checkpoint": {"after": "c1"}})
    body = (
        "cp = nango.get_checkpoint()\n"
        "nango.save_checkpoint({'after': cp['after'] + '2'})\n"
        "nango.save_checkpoint(Cursor(after='c3'))\n"
        "nango.clear_checkpoint()"
    )
    outcome = _sync(sdk_host, body, handler)
    assert outcome.ok, outcome.error
    assert handler.args_of("save_checkpoint") == [
        {"checkpoint": {"after": "c12"}},
        {"checkpoint": {"after": "c3"}},
    ]
    assert [c[0] for c in handler.calls] == [
        "get_checkpoint",
        "save_checkpoint",
        "save_checkpoint",
        "clear_checkpoint",
    ]


@pytest.mark.parametrize(
    ("value", "message", "validate"),
    [
        ("{'after': 5}", "does not match its model", True),
        ("{'cursor': 'x'}", "does not match its model", True),
        ("{'after': 'x', 'page': {'n': 1}}", "flat object", False),
        ("['after']", "must be a dict", False),
        ("{'after': 'x' * 70000}", "at most", True),
    ],
)
def test_invalid_checkpoints_are_invalid_checkpoint(
    sdk_host: RunnerHost, value: str, message: str, validate: bool
) -> None:
    handler = Scripted()
    outcome = _sync(sdk_host, f"nango.save_checkpoint({value})", handler, validate=validate)
    error = error_of(outcome)
    assert error["type"] == "invalid_checkpoint"
    assert message in error["message"]
    assert not handler.args_of("save_checkpoint")


def test_variant_comes_from_the_context(sdk_host: RunnerHost) -> None:
    handler = Scripted()
    outcome = _sync(sdk_host, "nango.log(nango.variant)", handler, variant="eu")
    assert outcome.ok, outcome.error
    assert handler.args_of("log")[0]["message"] == "eu"
