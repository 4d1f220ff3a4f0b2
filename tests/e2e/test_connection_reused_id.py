"""A run outlives its connection's deletion, and the id is connected again under another
integration with other credentials: the old run reaches nothing of the new connection (real
serve, runner and worker)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import running_fake_api, running_held_api

OLD = """
from nango import create_action

def run(nango, input):
    nango.get(endpoint='/slow')  # still running while the tenant connects the id again
    found = {}
    for name, call in (('connection', nango.get_connection), ('metadata', nango.get_metadata),
                       ('whoami', lambda: nango.get(endpoint='/whoami').data)):
        try:
            found[name] = call()
        except Exception as exc:
            found[name] = 'refused: ' + str(exc)
    return found

action = create_action(description='old', exec=run)
"""


def _connect(client: Client, integration: str, key: str) -> None:
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration=integration,
            connection_id="acme",
            credentials_json=json.dumps({"type": "API_KEY", "api_key": key}),
            metadata_json=json.dumps({"owner": integration}),
        ),
    )


def test_a_deleted_connections_run_reaches_nothing_of_the_next_one_of_its_id(
    client: Client,
) -> None:
    with running_held_api({"ok": True}) as (old_api, release), running_fake_api() as new_api:
        old_api.route("GET", "/whoami", body={"service": "old"})
        new_api.route("GET", "/whoami", body={"service": "new"})
        client.call("Deploy", pb.DeployRequest(integration="gh", files={"old.py": OLD}))
        for key, api in (("gh", old_api), ("sf", new_api)):
            client.call(
                "CreateIntegration",
                pb.CreateIntegrationRequest(unique_key=key, base_url=api.url, auth_mode="API_KEY"),
            )
        _connect(client, "gh", "gh-OLD")
        result: dict[str, Any] = {}

        def trigger() -> None:
            request = pb.TriggerActionRequest(action_name="old", connection_id="acme")
            try:
                result["output"] = json.loads(client.call("TriggerAction", request).output_json)
            except CorralError as err:
                result["error"] = err

        caller = threading.Thread(target=trigger)
        caller.start()
        deadline = time.monotonic() + 30
        while not any(seen.path == "/slow" for seen in old_api.seen):
            assert time.monotonic() < deadline, "the run never called the API"
            time.sleep(0.05)
        client.call("DeleteConnection", pb.DeleteConnectionRequest(connection_id="acme"))
        _connect(client, "sf", "sf-NEW-SECRET")
        release.set()
        caller.join(60)
    assert not caller.is_alive()
    assert new_api.seen == []  # no request reached the new connection's API
    assert "sf-NEW-SECRET" not in json.dumps(result, default=str)
    if "output" in result:  # the function caught each refusal
        assert all(str(v).startswith("refused") for v in result["output"].values()), result
    else:
        assert isinstance(result["error"], CorralError)
