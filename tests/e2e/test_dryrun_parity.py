"""One function file, run both ways: the offline dry run (``corral.testing``, what ``corral
dryrun`` runs) and production (``corral serve``, the real runner, worker and callback server).

Each case is one run of the same file: what it logs (the store's answers, as the function sees
them), the records it leaves, and how it ends must be the same both ways. The function itself
shows its records' metadata times as set or not: each store has its own clock and change
numbers.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from corral.cli import Client
from corral.cli._dryrun_online import online_dryrun
from corral.errors import RunFailure
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.fake_api import FakeApi
from tests.support.service import Service

INTEGRATION = "parity"

SYNC = (
    h.ITEM_MODEL
    + """
import json
from nango import create_sync, NangoError

def seen(found):
    out = {}
    for rid, record in found.items():
        meta = record.pop('_nango_metadata')
        shown = {'last_action': meta['last_action'], 'deleted': meta['deleted_at'] is not None}
        out[rid] = record | {'_meta': shown}
    return out

def found_ones(nango, ids):
    nango.log(json.dumps(seen(nango.get_records_by_id(ids, 'Item')), sort_keys=True))

def attempt(call):
    try:
        call()
        return 'ok'
    except NangoError as err:
        return err.type

def fetch(nango):
    case = nango.get_metadata()['case']
    if case == 'merge':
        info = {'a': 1, 'b': {'c': 2, 'd': 3}}
        nango.batch_save([{'id': '1', 'name': 'a', 'tags': ['x', 'y'], 'info': info}], 'Item')
        nango.batch_update([{'id': '1', 'tags': ['z'], 'info': {'b': {'d': 4}}},
                            {'id': 'nope', 'name': 'n'}], 'Item')
        found_ones(nango, ['1', 'nope'])
    elif case == 'partial':
        nango.batch_save([Item(id='1', name='a', tags=['x'], info={'k': 1})], 'Item')
        nango.batch_update([Item(id='1', name='b')], 'Item')
        nango.batch_save([Item(id='2', name='c')], 'Item')
        found_ones(nango, ['1', '2'])
    elif case == 'deleted':
        nango.batch_save([{'id': '1', 'name': 'a'}, {'id': '2', 'name': 'b'}], 'Item')
        nango.batch_delete([{'id': '2'}], 'Item')
        found_ones(nango, ['1', '2', '3'])
    elif case == 'track end caught':
        nango.log(attempt(lambda: nango.track_deletes_end('Item')))
    elif case == 'track end':
        nango.track_deletes_end('Item')
    elif case == 'connection':
        own = nango.get_connection()
        key, cid = own['provider_config_key'], own['connection_id']
        nango.log(json.dumps([
            attempt(lambda: nango.get_connection(key, cid)),
            attempt(lambda: nango.get_connection(None, cid)),
            attempt(lambda: nango.get_connection(key, cid + '-other')),
            attempt(lambda: nango.get_connection('other-integration', cid)),
        ]))
    elif case == 'connection uncaught':
        nango.get_connection(None, 'someone-else')

sync = create_sync(description='parity', frequency='every hour', auto_start=False,
                   models={'Item': Item}, exec=fetch)
"""
)

LEGACY = """
def fetch_data(nango):
    nango.batch_save([{'id': '1', 'name': 'old'}, {'id': '2', 'name': 'older'}], 'Legacy')
    nango.batch_update([{'id': '1', 'extra': True}], 'Legacy')
    nango.log(str(sorted(nango.get_records_by_id(['1', '2'], 'Legacy'))))
"""

Outcome = tuple[list[str], str | None]
"""What a run showed: its log messages and its error type (None: it succeeded)."""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("functions") / INTEGRATION
    path.mkdir()
    (path / "items.py").write_text(SYNC)
    (path / "old_items.py").write_text(LEGACY)
    return path


@pytest.fixture(scope="module")
def server(service: Service, fake_api: FakeApi, folder: pathlib.Path) -> Iterator[Client]:
    with Client(service.address, service.secret_key, timeout=60) as client:
        files = {p.name: p.read_text() for p in folder.glob("*.py")}
        # Not started on its own (as the other sync): a scheduled run of a new connection would
        # race the test's own (its save undoing the update the test reads).
        legacy = {
            "old_items.py": {
                "kind": "sync",
                "frequency": "every hour",
                "models": [],
                "auto_start": False,
            }
        }
        h.setup(client, INTEGRATION, files, fake_api.url, connection="base", legacy=legacy)
        yield client


def _offline(folder: pathlib.Path, function: str, case: str, connection: str) -> Outcome:
    """``corral dryrun`` of the function, in a process of its own (the test holds gRPC channels,
    and the offline runner host forks its workers)."""
    result = _dryrun(folder / f"{function}.py", {"case": case}, connection)
    error = result["error"]
    return [line["message"] for line in result["logs"]], error["type"] if error else None


def _dryrun(path: pathlib.Path, metadata: Any, connection: str) -> dict[str, Any]:
    own = {"connection_id": connection, "provider_config_key": INTEGRATION}
    fixture = path.parent.parent / f"{connection}.test.json"
    fixture.write_text(json.dumps({"nango": {"getConnection": own}}))
    command = [sys.executable, "-m", "corral", "dryrun", str(path), "--fixture", str(fixture)]
    if metadata is not None:
        command += ["--metadata", json.dumps(metadata)]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _production(client: Client, function: str, case: str, connection: str) -> Outcome:
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration=INTEGRATION,
            connection_id=connection,
            metadata_json=json.dumps({"case": case}),
        ),
    )
    request = pb.TriggerSyncRequest(sync_name=function, connection_id=connection)
    try:
        run_id = client.call("TriggerSync", request).run_id
    except RunFailure as failure:
        return [], failure.code
    lines = client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_id)).lines
    return [line.message for line in lines], None


CASES = {
    "merge": (["1"], None),
    "partial": (["1", "2"], None),
    "deleted": (["1", "2"], None),
    "track end caught": (["track_deletes_not_started"], None),
    "track end": ([], "track_deletes_not_started"),
    "connection": (
        ["ok", "ok", "connection_override_refused", "connection_override_refused"],
        None,
    ),
    "connection uncaught": ([], "connection_override_refused"),
}
"""Each case and a part of what it must show both ways: the ids found, the answers, the error."""

_connections = iter(range(1_000))


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_function_shows_the_same_offline_and_in_production(
    case: str, folder: pathlib.Path, server: Client
) -> None:
    connection = f"p{next(_connections)}"
    offline = _offline(folder, "items", case, connection)
    production = _production(server, "items", case, connection)
    assert offline == production
    expected, error = CASES[case]
    logs, _ = offline
    assert offline[1] == error
    shown = json.loads(logs[0]) if logs and logs[0][:1] in "[{" else logs
    assert (list(shown) if isinstance(shown, dict) else shown) == expected


def test_batch_update_deep_merges_into_a_record_saved_earlier_in_the_same_run(
    folder: pathlib.Path, server: Client
) -> None:
    logs, _ = _offline(folder, "items", "merge", "m1")
    assert json.loads(logs[0]) == {
        "1": {
            "id": "1",
            "name": "a",
            "tags": ["z"],
            "info": {"a": 1, "b": {"c": 2, "d": 4}},
            "_meta": {"last_action": "UPDATED", "deleted": False},
        }
    }


def test_a_partial_model_leaves_its_unset_fields_as_stored(folder: pathlib.Path) -> None:
    logs, _ = _offline(folder, "items", "partial", "m2")
    found: dict[str, Any] = json.loads(logs[0])
    assert found["1"] == {
        "id": "1",
        "name": "b",
        "tags": ["x"],
        "info": {"k": 1},
        "_meta": {"last_action": "UPDATED", "deleted": False},
    }
    assert found["2"] == {
        "id": "2",
        "name": "c",
        "_meta": {"last_action": "ADDED", "deleted": False},
    }


def test_get_records_by_id_marks_a_deleted_record(folder: pathlib.Path) -> None:
    logs, _ = _offline(folder, "items", "deleted", "m3")
    found = json.loads(logs[0])
    assert found["1"]["_meta"] == {"last_action": "ADDED", "deleted": False}
    assert found["2"] == {
        "id": "2",
        "name": "b",
        "_meta": {"last_action": "DELETED", "deleted": True},
    }


def test_a_legacy_sync_dry_runs_without_configuration_as_it_runs_deployed(
    folder: pathlib.Path, server: Client
) -> None:
    """Offline and through the orchestrator (``corral dryrun --connection``), with no
    configuration, as deployed with one: its models are those it saves."""
    offline = _dryrun(folder / "old_items.py", None, "legacy0")
    assert offline["ok"], offline["error"]
    assert offline["records"] == {
        "Legacy": [{"id": "1", "name": "old"}, {"id": "2", "name": "older"}]
    }
    production = _production(server, "old_items", "", "legacy1")
    assert production == ([line["message"] for line in offline["logs"]], None)
    online = online_dryrun(server, folder / "old_items.py", "legacy1")
    assert online["ok"], online["error"]
    assert (online["records"], online["logs"]) == (offline["records"], offline["logs"])
    stored = h.records(server, "Legacy", "legacy1")
    assert {k: v for k, v in stored["1"].items() if k != "_nango_metadata"} == {
        "id": "1",
        "name": "old",
        "extra": True,
    }
