"""Small steps the SDK end-to-end tests share: deploy, connect, trigger, read back."""

from __future__ import annotations

import json
from typing import Any

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.storage._sqlite import SqliteStorage
from tests.support.service import Service

ITEM_MODEL = """
from pydantic import BaseModel

class Item(BaseModel):
    id: str
    name: str
    tags: list[str] = []
    info: dict = {}
"""
"""The ``Item`` model the record tests' functions save (function source, to prepend)."""


def setup(
    client: Client,
    integration: str,
    files: dict[str, str],
    base_url: str,
    *,
    connection: str = "c1",
    credentials: dict[str, Any] | None = None,
    auth_mode: str = "NONE",
    auth_config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    provider: str = "",
    legacy: dict[str, Any] | None = None,
) -> None:
    """Deploys ``files`` as ``integration``, points it at ``base_url`` and connects."""
    client.call(
        "Deploy",
        pb.DeployRequest(
            integration=integration,
            files=files,
            legacy_config_json={k: json.dumps(v) for k, v in (legacy or {}).items()},
        ),
    )
    client.call(
        "CreateIntegration",
        pb.CreateIntegrationRequest(
            unique_key=integration,
            provider=provider,
            base_url=base_url,
            auth_mode=auth_mode,
            auth_config_json=json.dumps(auth_config or {}),
        ),
    )
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration=integration,
            connection_id=connection,
            credentials_json=json.dumps(credentials or {"type": auth_mode}),
            metadata_json=json.dumps(metadata or {}),
        ),
    )


def action(client: Client, name: str, input_value: Any = None, connection: str = "c1") -> Any:
    """Triggers an action and returns its output (raises its typed error)."""
    response = client.call(
        "TriggerAction",
        pb.TriggerActionRequest(
            action_name=name, connection_id=connection, input_json=json.dumps(input_value)
        ),
    )
    return json.loads(response.output_json)


def sync(
    client: Client, name: str, connection: str = "c1", variant: str = "", reset: bool = False
) -> str:
    """Runs a sync to its end; returns the run id (raises the run's typed error)."""
    request = pb.TriggerSyncRequest(
        sync_name=name, connection_id=connection, variant=variant, reset=reset
    )
    return str(client.call("TriggerSync", request).run_id)


def records(
    client: Client, model: str, connection: str = "c1", variant: str = "", filter: str = ""
) -> dict[str, dict[str, Any]]:
    """The stored records of a model by id, each with its ``_nango_metadata``."""
    request = pb.ListRecordsRequest(
        connection_id=connection, model=model, variant=variant, filter=filter, limit=1000
    )
    out: dict[str, dict[str, Any]] = {}
    while True:
        response = client.call("ListRecords", request)
        for record in response.records:
            data = json.loads(record.json)
            out[str(data["id"])] = data
        if not response.next_cursor:
            return out
        request.cursor = response.next_cursor


def metadata(client: Client, connection: str = "c1") -> dict[str, Any]:
    """A connection's metadata."""
    found = client.call("GetConnection", pb.GetConnectionRequest(connection_id=connection))
    return dict(json.loads(found.metadata_json))


def set_env_settings(service: Service, settings: dict[str, Any]) -> None:
    """Replaces the settings of the service's ``dev`` environment (as an operator would)."""
    storage = SqliteStorage(service.data_dir / "corral.db")
    try:
        storage.set_environment_settings(storage.get_environment("dev").id, settings)
    finally:
        storage.close()
