"""A sync reset that empties the sync's records, and an integration deleted with everything it
holds: in storage, on every engine."""

from __future__ import annotations

import pytest

from corral.errors import NotFound
from orchestrator.storage._areas import CheckpointKey, FunctionRow, RecordScope, Storage
from tests.orchestrator.storage_support import Tenant, rec


def _scope(
    tenant: Tenant, model: str, connection_id: str = "conn-1", variant: str = "base"
) -> RecordScope:
    return RecordScope(tenant.env_id, connection_id, model, variant, "run-1")


def _ids(storage: Storage, scope: RecordScope) -> list[str]:
    records, _ = storage.list_records(
        scope.env_id, scope.connection_id, scope.model, variant=scope.variant
    )
    return [r.id for r in records]


def _second_connection(storage: Storage, tenant: Tenant, integration: str = "github") -> None:
    storage.create_connection(
        tenant.env_id, integration, "conn-2", credentials={}, connection_config={}, metadata={}
    )


@pytest.mark.storage_areas("tenants", "connections", "records", "checkpoints")
def test_a_reset_that_empties_models_deletes_only_their_records_of_this_connection(
    storage: Storage, tenant: Tenant
) -> None:
    _second_connection(storage, tenant)
    issue, label = _scope(tenant, "Issue"), _scope(tenant, "Label")
    other_variant = _scope(tenant, "Issue", variant="eu")
    other_connection = _scope(tenant, "Issue", connection_id="conn-2")
    for scope in (issue, label, other_variant, other_connection):
        storage.save_records(scope, [rec("1"), rec("2")])
    key = CheckpointKey(tenant.env_id, "conn-1", "issues", "base")
    storage.save_checkpoint(key, {"page": 3})

    emptied = storage.reset_sync(tenant.env_id, "conn-1", "issues", "base", ["Issue"])

    assert emptied == 2
    assert storage.get_checkpoint(key) is None
    assert _ids(storage, issue) == []
    assert storage.get_records_by_id(issue, ["1", "2"]) == {}  # gone, not soft-deleted
    for kept in (label, other_variant, other_connection):
        assert _ids(storage, kept) == ["1", "2"]
    # New records come back as added.
    counts = storage.save_records(issue, [rec("1")])
    assert counts.added == 1


@pytest.mark.storage_areas("tenants", "connections", "records", "checkpoints")
def test_a_reset_without_models_keeps_every_record(storage: Storage, tenant: Tenant) -> None:
    storage.save_records(_scope(tenant, "Issue"), [rec("1")])
    assert storage.reset_sync(tenant.env_id, "conn-1", "issues", "base") == 0
    assert _ids(storage, _scope(tenant, "Issue")) == ["1"]
    with pytest.raises(NotFound):
        storage.reset_sync(tenant.env_id + 99, "conn-1", "issues", "base", ["Issue"])
    assert _ids(storage, _scope(tenant, "Issue")) == ["1"]


def _function(name: str) -> FunctionRow:
    return FunctionRow(name, "sync", "1", "", {"models": {"Issue": {}}}, {}, f"{name}.py", "h")


@pytest.mark.storage_areas(
    "tenants", "connections", "functions", "records", "checkpoints", "schedules"
)
def test_deleting_an_integration_deletes_its_connections_functions_schedules_and_records(
    storage: Storage, tenant: Tenant
) -> None:
    _second_connection(storage, tenant)
    storage.upsert_integration(
        tenant.env_id, "slack", provider="slack", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        tenant.env_id, "slack", "stays", credentials={}, connection_config={}, metadata={}
    )
    storage.replace_functions(tenant.env_id, "github", [_function("issues")])
    storage.replace_functions(tenant.env_id, "slack", [_function("messages")])
    for cid, sync in (("conn-1", "issues"), ("conn-2", "issues"), ("stays", "messages")):
        storage.save_records(_scope(tenant, "Issue", connection_id=cid), [rec("1")])
        storage.ensure_schedule(
            tenant.env_id, cid, sync, "base", frequency_seconds=60, state="running"
        )

    storage.delete_integration(tenant.env_id, "github")

    assert [i.unique_key for i in storage.list_integrations(tenant.env_id)] == ["slack"]
    assert [c.connection_id for c in storage.list_connections(tenant.env_id)] == ["stays"]
    assert storage.list_functions(tenant.env_id, "github") == []
    assert [f.name for f in storage.list_functions(tenant.env_id)] == ["messages"]
    assert [s.connection_id for s in storage.list_schedules(tenant.env_id)] == ["stays"]
    assert _ids(storage, _scope(tenant, "Issue", connection_id="stays")) == ["1"]
    with pytest.raises(NotFound):
        storage.get_connection(tenant.env_id, "conn-1")
    # A new integration and connection of the same names start empty.
    storage.upsert_integration(
        tenant.env_id, "github", provider="github", base_url="", auth_mode="NONE", auth_config={}
    )
    storage.create_connection(
        tenant.env_id, "github", "conn-1", credentials={}, connection_config={}, metadata={}
    )
    assert _ids(storage, _scope(tenant, "Issue")) == []


@pytest.mark.storage_areas("tenants", "connections")
def test_deleting_an_unknown_integration_or_one_of_another_environment_is_not_found(
    storage: Storage, tenant: Tenant
) -> None:
    other, _ = storage.create_environment("other")
    with pytest.raises(NotFound) as unknown:
        storage.delete_integration(tenant.env_id, "absent")
    assert unknown.value.code == "unknown_integration"
    with pytest.raises(NotFound):
        storage.delete_integration(other.id, "github")
    assert storage.get_connection(tenant.env_id, "conn-1").integration_key == "github"
