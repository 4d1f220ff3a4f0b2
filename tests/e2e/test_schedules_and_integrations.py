"""A connection's own sync frequency, a reset that empties records, and deleting an integration:
through a real ``corral serve``, by the ``corral`` command as a user types it."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from click.testing import CliRunner, Result

from corral.cli import Client, _output
from corral.cli._main import cli
from corral.errors import InvalidRequest, NotFound
from corral.v1 import orchestrator_pb2 as pb
from tests.support.service import Service, corral

ITEMS = """
from nango import create_sync
from pydantic import BaseModel

class Item(BaseModel):
    id: str

def fetch(nango):
    nango.save_checkpoint({'seen': True})
    nango.batch_save([{'id': i} for i in nango.get_metadata()['ids']], 'Item')

sync = create_sync(description='items', frequency='every 30 minutes', auto_start=False,
                   models={'Item': Item}, exec=fetch)
"""

UNDECLARED = """
from nango import create_sync

def fetch(nango):
    nango.batch_save([{'id': 'u'}], 'Item')

sync = create_sync(description='no models', frequency='every hour', auto_start=False, exec=fetch)
"""

GOODBYE = """
from nango import create_on_event

def goodbye(nango):
    nango.log('goodbye ' + nango.get_metadata().get('name', ''))

on_event = create_on_event(event='pre-connection-deletion', description='bye', exec=goodbye)
"""

FILES = {"items.py": ITEMS, "goodbye.py": GOODBYE}


def _ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _refused(done: subprocess.CompletedProcess[str], code: int = 1) -> Any:
    assert done.returncode == code, (done.stdout, done.stderr)
    return json.loads(done.stderr) if code == 1 else done.stderr


def _integration(client: Client, key: str, connections: dict[str, list[str]]) -> None:
    client.call("Deploy", pb.DeployRequest(integration=key, files=FILES))
    for cid, ids in connections.items():
        metadata = json.dumps({"ids": ids, "name": cid})
        request = pb.CreateConnectionRequest(
            integration=key, connection_id=cid, metadata_json=metadata
        )
        client.call("CreateConnection", request)


def _schedule(client: Client, connection: str) -> pb.SyncSchedule:
    request = pb.ListSyncSchedulesRequest(connection_id=connection)
    (found,) = client.call("ListSyncSchedules", request).schedules
    return found


def _record_ids(client: Client, connection: str) -> list[str]:
    request = pb.ListRecordsRequest(connection_id=connection, model="Item")
    return sorted(json.loads(r.json)["id"] for r in client.call("ListRecords", request).records)


def test_a_connection_runs_a_sync_at_its_own_frequency_until_cleared(
    service: Service, client: Client
) -> None:
    _integration(client, "often", {"fast": [], "usual": []})
    for cid in ("fast", "usual"):
        _ok(corral(service, "sync", "start", "items", "--connection", cid))
    own = _ok(
        corral(service, "sync", "start", "items", "--connection", "fast", "--frequency", "5m")
    )
    assert (own["frequency_seconds"], own["frequency_override_seconds"]) == (300, 300)
    assert _schedule(client, "usual").frequency_seconds == 1800  # the sync's, unchanged

    client.call("Deploy", pb.DeployRequest(integration="often", files=FILES))  # a redeploy
    kept = _schedule(client, "fast")
    assert (kept.frequency_seconds, kept.frequency_override_seconds) == (300, 300)

    bad = corral(service, "sync", "start", "items", "--connection", "fast", "--frequency", "1s")
    assert _refused(bad)["error_type"] == "invalid_frequency"
    assert _schedule(client, "fast").frequency_seconds == 300
    cleared = _ok(
        corral(service, "sync", "start", "items", "--connection", "fast", "--clear-frequency")
    )
    assert (cleared["frequency_seconds"], cleared["frequency_override_seconds"]) == (1800, 0)
    both = corral(
        service, "sync", "start", "items", "--connection", "fast", "--frequency", "1h",
        "--clear-frequency",
    )  # fmt: skip
    assert "not both" in _refused(both, code=2)


def test_a_frequency_is_refused_on_pause_and_when_too_long(client: Client) -> None:
    _integration(client, "paused", {"p1": []})
    pause = pb.SyncScheduleRequest(sync_name="items", connection_id="p1", frequency="every hour")
    with pytest.raises(InvalidRequest) as on_pause:
        client.call("PauseSync", pause)
    assert on_pause.value.code == "invalid_frequency"
    long = pb.SyncScheduleRequest(sync_name="items", connection_id="p1", frequency="1" * 100_000)
    with pytest.raises(InvalidRequest) as too_long:
        client.call("StartSync", long)
    assert too_long.value.code == "invalid_frequency"
    both = pb.SyncScheduleRequest(
        sync_name="items", connection_id="p1", frequency="every hour", clear_frequency=True
    )
    with pytest.raises(InvalidRequest) as given_both:
        client.call("StartSync", both)
    assert given_both.value.code == "invalid_frequency"
    assert (
        client.call("ListSyncSchedules", pb.ListSyncSchedulesRequest(connection_id="p1")).schedules
        == []
    )


def test_a_reset_with_empty_records_stores_the_records_anew(
    service: Service, client: Client
) -> None:
    _integration(client, "resets", {"r1": ["1", "2"]})
    _ok(corral(service, "trigger", "sync", "items", "--connection", "r1"))
    assert _record_ids(client, "r1") == ["1", "2"]
    client.call(
        "SetMetadata",
        pb.SetMetadataRequest(connection_id="r1", metadata_json='{"ids": ["3"]}'),
    )
    alone = corral(service, "trigger", "sync", "items", "--connection", "r1", "--empty-records")
    assert _refused(alone)["error_type"] == "empty_records_without_reset"
    _ok(corral(service, "trigger", "sync", "items", "--connection", "r1", "--reset"))
    assert _record_ids(client, "r1") == ["1", "2", "3"]  # a reset keeps the records

    _ok(
        corral(
            service, "trigger", "sync", "items", "--connection", "r1", "--reset", "--empty-records"
        )
    )
    assert _record_ids(client, "r1") == ["3"]


def test_empty_records_is_refused_for_a_sync_that_names_no_models(client: Client) -> None:
    client.call("Deploy", pb.DeployRequest(integration="loose", files={"loose.py": UNDECLARED}))
    client.call(
        "CreateConnection", pb.CreateConnectionRequest(integration="loose", connection_id="l1")
    )
    request = pb.TriggerSyncRequest(
        sync_name="loose", connection_id="l1", reset=True, empty_records=True
    )
    with pytest.raises(InvalidRequest) as refused:
        client.call("TriggerSync", request)
    assert refused.value.code == "sync_declares_no_models"


def _at_a_terminal(
    service: Service, monkeypatch: pytest.MonkeyPatch, answer: str, *args: str
) -> Result:
    monkeypatch.setattr(_output, "can_ask", lambda: True)
    monkeypatch.setenv("CORRAL_SERVER", service.address)
    monkeypatch.setenv("CORRAL_SECRET_KEY", service.secret_key)
    return CliRunner().invoke(cli, list(args), input=answer)


def test_deleting_an_integration_deletes_each_connection_as_connection_delete_does(
    service: Service, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _integration(client, "gone", {"g1": ["1"], "g2": ["2"]})
    _integration(client, "stays", {"s1": ["1"]})
    for cid in ("g1", "g2", "s1"):
        _ok(corral(service, "trigger", "sync", "items", "--connection", cid))
    asked = corral(service, "integration", "delete", "gone")  # nobody at a terminal to answer
    assert "--yes" in _refused(asked, code=2)
    said_no = _at_a_terminal(service, monkeypatch, "n\n", "integration", "delete", "gone")
    assert said_no.exit_code == 1
    assert "Delete integration 'gone' with its 2 connection(s)" in said_no.output
    assert client.call("GetConnection", pb.GetConnectionRequest(connection_id="g1"))

    deleted = _ok(corral(service, "integration", "delete", "gone", "--yes"))

    assert sorted(deleted["connection_ids"]) == ["g1", "g2"]
    for run_id, cid in zip(deleted["run_ids"], ("g1", "g2"), strict=True):
        run = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
        assert (run.function_name, run.connection_id, run.state) == (
            "goodbye", cid, pb.RUN_STATE_SUCCEEDED,
        )  # fmt: skip
        lines = client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_id)).lines
        assert [line.message for line in lines] == [f"goodbye {cid}"]
    keys = [
        i.unique_key
        for i in client.call("ListIntegrations", pb.ListIntegrationsRequest()).integrations
    ]
    assert "gone" not in keys
    assert "stays" in keys
    assert client.call("ListFunctions", pb.ListFunctionsRequest(integration="gone")).functions == []
    for cid in ("g1", "g2"):
        with pytest.raises(NotFound):
            client.call("GetConnection", pb.GetConnectionRequest(connection_id=cid))
        assert (
            client.call(
                "ListSyncSchedules", pb.ListSyncSchedulesRequest(connection_id=cid)
            ).schedules
            == []
        )
    assert _record_ids(client, "s1") == ["1"]
    missing = corral(service, "integration", "delete", "gone", "--yes")
    assert _refused(missing)["error_type"] == "unknown_integration"
