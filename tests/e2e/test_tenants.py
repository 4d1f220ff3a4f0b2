"""Two tenants at once: neither sees nor changes the other's records, metadata, logs or state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from corral.cli import Client
from corral.errors import NotFound
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi
from tests.support.service import Service, create_environment

SYNC = """
from nango import create_sync

CALLS = []

def fetch(nango):
    CALLS.append(1)
    meta = nango.get_metadata()
    nango.update_metadata({'runs_seen_by_module': len(CALLS)})
    nango.log('tenant ' + meta['tenant'])
    items = nango.get(endpoint='/items').data
    saved = [{'id': i['id'], 'tenant': meta['tenant'], 'n': len(CALLS)} for i in items]
    nango.batch_save(saved, 'Item')

# Triggered by the tests only: no scheduled run may interleave with them.
sync = create_sync(description='items', frequency='every hour', auto_start=False, exec=fetch)
"""


def _env_key(service: Service, name: str) -> str:
    return create_environment(service, name)


def _setup(client: Client, api: FakeApi, tenant: str) -> None:
    client.call("Deploy", pb.DeployRequest(integration="shop", files={"items.py": SYNC}))
    client.call(
        "CreateIntegration", pb.CreateIntegrationRequest(unique_key="shop", base_url=api.url)
    )
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration="shop",
            connection_id="same-id",
            metadata_json=json.dumps({"tenant": tenant}),
        ),
    )


def _sync(client: Client) -> str:
    return str(
        client.call(
            "TriggerSync", pb.TriggerSyncRequest(sync_name="items", connection_id="same-id")
        ).run_id
    )


@pytest.fixture(scope="module")
def tenants(service: Service, fake_api: FakeApi) -> Iterator[tuple[Client, Client]]:
    fake_api.route("GET", "/items", body=[{"id": "1"}, {"id": "2"}])
    a = Client(service.address, service.secret_key)
    b = Client(service.address, _env_key(service, "tenant-b"))
    _setup(a, fake_api, "a")
    _setup(b, fake_api, "b")
    yield a, b
    a.close()
    b.close()


def test_concurrent_runs_keep_records_and_metadata_apart(tenants: tuple[Client, Client]) -> None:
    a, b = tenants
    with ThreadPoolExecutor(4) as pool:
        run_ids = list(pool.map(_sync, [a, b, a, b]))
    assert len(set(run_ids)) == 4
    for client, tenant in ((a, "a"), (b, "b")):
        records = client.call(
            "ListRecords", pb.ListRecordsRequest(connection_id="same-id", model="Item")
        ).records
        data = [json.loads(r.json) for r in records]
        assert sorted(d["id"] for d in data) == ["1", "2"]
        assert {d["tenant"] for d in data} == {tenant}
        connection = client.call("GetConnection", pb.GetConnectionRequest(connection_id="same-id"))
        assert json.loads(connection.metadata_json) == {"tenant": tenant, "runs_seen_by_module": 1}


def test_module_state_is_fresh_in_every_run(tenants: tuple[Client, Client]) -> None:
    a, _ = tenants
    for _ in range(2):
        _sync(a)
    records = a.call(
        "ListRecords", pb.ListRecordsRequest(connection_id="same-id", model="Item")
    ).records
    assert {json.loads(r.json)["n"] for r in records} == {1}


def test_runs_and_logs_of_one_tenant_are_invisible_to_the_other(
    tenants: tuple[Client, Client],
) -> None:
    a, b = tenants
    run_a = _sync(a)
    logs = a.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_a)).lines
    assert [line.message for line in logs] == ["tenant a"]
    with pytest.raises(NotFound):
        b.call("GetRunLogs", pb.GetRunLogsRequest(run_id=run_a))
    with pytest.raises(NotFound):
        b.call("GetRun", pb.GetRunRequest(run_id=run_a))
    assert all(r.run_id != run_a for r in b.call("ListRuns", pb.ListRunsRequest(limit=100)).runs)


def test_a_failed_sync_deletes_nothing(tenants: tuple[Client, Client], fake_api: FakeApi) -> None:
    a, _ = tenants
    failing = SYNC.replace(
        "def fetch(nango):\n", "def fetch(nango):\n    nango.track_deletes_start('Item')\n"
    )
    failing = failing.replace(
        "sync = create_sync", "    raise ValueError('late failure')\n\nsync = create_sync"
    )
    a.call("Deploy", pb.DeployRequest(integration="shop", files={"items.py": failing}))
    fake_api.route("GET", "/items", body=[{"id": "1"}])
    with pytest.raises(Exception, match="late failure"):
        _sync(a)
    records = a.call(
        "ListRecords", pb.ListRecordsRequest(connection_id="same-id", model="Item")
    ).records
    assert all(r.metadata.last_action != "DELETED" for r in records)
    assert len(records) == 2
