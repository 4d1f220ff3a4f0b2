"""What runs without a client asking: scheduled syncs, connection events, webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from corral.cli import Client
from corral.errors import InvalidRequest, NotFound
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi

SYNCS = {
    "items.py": """
from nango import create_sync

def fetch(nango):
    items = nango.get(endpoint='/items').data
    nango.batch_save([{'id': i['id'], 'status': 'open'} for i in items], 'Item')

def on_webhook(nango, payload):
    nango.batch_update([{'id': payload['id'], 'status': payload['status']}], 'Item')

sync = create_sync(description='items', frequency='every 30 minutes', auto_start=True,
                   exec=fetch, on_webhook=on_webhook, webhook_subscriptions=['item.updated'])
""",
    "archive.py": """
from nango import create_sync

def fetch(nango):
    nango.batch_save([{'id': 'a1'}], 'Archived')

sync = create_sync(description='archive', frequency='every day', auto_start=False, exec=fetch)
""",
    "check.py": """
from nango import create_on_event

def validate(nango):
    if nango.get_metadata().get('reject'):
        raise ValueError('this account is not allowed')

on_event = create_on_event(event='validate-connection', description='check', exec=validate)
""",
    "welcome.py": """
from nango import create_on_event

def welcome(nango):
    nango.update_metadata({'welcomed': True})

on_event = create_on_event(event='post-connection-creation', description='hi', exec=welcome)
""",
    "goodbye.py": """
from nango import create_on_event

def goodbye(nango):
    nango.log('goodbye ' + nango.get_metadata().get('name', ''))

on_event = create_on_event(event='pre-connection-deletion', description='bye', exec=goodbye)
""",
}


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def shop(service: object, fake_api: FakeApi) -> str:
    from tests.support.service import Service  # noqa: PLC0415

    assert isinstance(service, Service)
    fake_api.route("GET", "/items", body=[{"id": "1"}, {"id": "2"}])
    with Client(service.address, service.secret_key) as client:
        client.call(
            "CreateIntegration",
            pb.CreateIntegrationRequest(unique_key="shop", base_url=fake_api.url),
        )
        client.call("Deploy", pb.DeployRequest(integration="shop", files=SYNCS))
    return "shop"


def _records(client: Client, connection: str, model: str) -> list[dict[str, object]]:
    request = pb.ListRecordsRequest(connection_id=connection, model=model)
    return [json.loads(r.json) for r in client.call("ListRecords", request).records]


def _connect(client: Client, connection: str, metadata: dict[str, object]) -> None:
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration="shop", connection_id=connection, metadata_json=json.dumps(metadata)
        ),
    )


def test_a_new_connection_gets_its_auto_start_syncs_run(client: Client, shop: str) -> None:
    _connect(client, "c1", {"name": "one"})
    eventually(lambda: len(_records(client, "c1", "Item")) == 2)
    schedules = client.call(
        "ListSyncSchedules", pb.ListSyncSchedulesRequest(connection_id="c1")
    ).schedules
    assert [(s.sync_name, s.state, s.frequency_seconds) for s in schedules] == [
        ("items", "running", 1800)
    ]
    assert schedules[0].last_run_id
    eventually(
        lambda: (
            json.loads(
                client.call(
                    "GetConnection", pb.GetConnectionRequest(connection_id="c1")
                ).metadata_json
            ).get("welcomed")
            is True
        )
    )


def test_pause_and_start(client: Client, shop: str) -> None:
    _connect(client, "c2", {})
    paused = client.call("PauseSync", pb.SyncScheduleRequest(sync_name="items", connection_id="c2"))
    assert paused.state == "paused"
    assert not _records(client, "c2", "Archived")
    started = client.call(
        "StartSync", pb.SyncScheduleRequest(sync_name="archive", connection_id="c2")
    )
    assert (started.state, started.frequency_seconds) == ("running", 86400)
    eventually(lambda: [r["id"] for r in _records(client, "c2", "Archived")] == ["a1"])
    with pytest.raises(NotFound):
        client.call("StartSync", pb.SyncScheduleRequest(sync_name="nope", connection_id="c2"))


def test_a_webhook_runs_the_subscribed_handler(client: Client, shop: str) -> None:
    _connect(client, "c3", {})
    eventually(lambda: len(_records(client, "c3", "Item")) == 2)
    request = pb.DeliverWebhookRequest(
        integration="shop",
        connection_id="c3",
        event_type="item.updated",
        payload_json=json.dumps({"id": "2", "status": "closed"}),
    )
    (run_id,) = client.call("DeliverWebhook", request).run_ids
    eventually(
        lambda: (
            client.call("GetRun", pb.GetRunRequest(run_id=run_id)).state == pb.RUN_STATE_SUCCEEDED
        )
    )
    statuses = {r["id"]: r["status"] for r in _records(client, "c3", "Item")}
    assert statuses == {"1": "open", "2": "closed"}
    other = pb.DeliverWebhookRequest(
        integration="shop", connection_id="c3", event_type="item.deleted", payload_json="{}"
    )
    assert list(client.call("DeliverWebhook", other).run_ids) == []
    unprintable = pb.DeliverWebhookRequest(
        integration="shop", connection_id="c3", event_type="item\x00deleted", payload_json="{}"
    )
    with pytest.raises(InvalidRequest) as caught:  # as the webhook endpoint refuses it
        client.call("DeliverWebhook", unprintable)
    assert caught.value.code == "invalid_name"


def test_a_connection_that_fails_validation_is_not_kept(client: Client, shop: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _connect(client, "bad", {"reject": True})
    assert caught.value.code == "connection_validation_failed"
    assert "not allowed" in caught.value.message
    with pytest.raises(NotFound):
        client.call("GetConnection", pb.GetConnectionRequest(connection_id="bad"))


def test_deleting_a_connection_runs_its_pre_deletion_function(client: Client, shop: str) -> None:
    _connect(client, "c4", {"name": "four"})
    client.call("DeleteConnection", pb.DeleteConnectionRequest(connection_id="c4"))
    runs = client.call(
        "ListRuns", pb.ListRunsRequest(connection_id="c4", function_name="goodbye")
    ).runs
    assert [r.state for r in runs] == [pb.RUN_STATE_SUCCEEDED]
    logs = client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=runs[0].run_id)).lines
    assert [line.message for line in logs] == ["goodbye four"]
    with pytest.raises(NotFound):
        client.call("GetConnection", pb.GetConnectionRequest(connection_id="c4"))


def test_the_commands(service: object, shop: str, client: Client) -> None:
    from tests.support.service import Service, corral  # noqa: PLC0415

    assert isinstance(service, Service)
    _connect(client, "c5", {})
    paused = corral(service, "sync", "pause", "items", "--connection", "c5")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["state"] == "paused"
    listed = json.loads(corral(service, "schedules", "--connection", "c5").stdout)
    assert [s["sync_name"] for s in listed["schedules"]] == ["items"]
    sent = corral(
        service,
        "webhook",
        "shop",
        "--type",
        "item.updated",
        "--connection",
        "c5",
        "--payload",
        '{"id": "1", "status": "closed"}',
    )
    assert sent.returncode == 0, sent.stderr
    assert len(json.loads(sent.stdout)["run_ids"]) == 1
    assert corral(service, "webhook", "shop", "--payload", "{bad").returncode == 2
