"""Sync result notifications through a real ``corral serve``: set with the ``corral env``
commands, signed, sent again after 500s, with the records' counts per model."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.support.fake_api import FakeApi, Seen
from tests.support.service import Service, corral

SYNC = """
from nango import create_sync

def fetch(nango):
    nango.batch_save([{'id': '1'}, {'id': '2'}], 'Item')
    nango.batch_save([{'id': '1'}], 'Other')
    nango.batch_delete([{'id': '1'}], 'Other')

sync = create_sync(description='items', frequency='every day', auto_start=False, exec=fetch)
"""


def _admin(service: Service, *args: str) -> dict[str, Any]:
    done = corral(service, "env", *args, "--data-dir", str(service.data_dir))
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def test_a_sync_run_notifies_the_environments_url(
    service: Service, client: Client, fake_api: FakeApi
) -> None:
    statuses = [500, 500]

    def answer(_seen: Seen) -> tuple[int, Any, dict[str, str]]:
        return (statuses.pop(0) if statuses else 200), {}, {}

    fake_api.routes[("POST", "/notify")] = answer
    patch = json.dumps({"notifications": {"url": fake_api.url + "/notify"}})
    _admin(service, "settings", "dev", "--set", patch)
    secret = _admin(service, "notification-secret", "dev")["notification_secret"]
    shown = _admin(service, "settings", "dev")
    assert secret not in json.dumps(shown)
    client.call("CreateIntegration", pb.CreateIntegrationRequest(unique_key="shop"))
    client.call("Deploy", pb.DeployRequest(integration="shop", files={"items.py": SYNC}))
    client.call(
        "CreateConnection", pb.CreateConnectionRequest(integration="shop", connection_id="c1")
    )
    run_id = client.call(
        "TriggerSync", pb.TriggerSyncRequest(sync_name="items", connection_id="c1")
    ).run_id
    deadline = time.monotonic() + 60
    while len(_sent(fake_api)) < 3:
        assert time.monotonic() < deadline, "three tries did not come"
        time.sleep(0.1)
    bodies = []
    for seen in _sent(fake_api):
        stamp = seen.headers[TIMESTAMP_HEADER.lower()]
        digest = hmac.new(secret.encode(), stamp.encode() + b"." + seen.body, hashlib.sha256)
        assert hmac.compare_digest(
            seen.headers[SIGNATURE_HEADER.lower()], "v1=" + digest.hexdigest()
        )
        bodies.append(json.loads(seen.body))
    assert bodies[0] == bodies[2]
    assert (bodies[0]["run_id"], bodies[0]["success"], bodies[0]["sync"]) == (run_id, True, "items")
    assert bodies[0]["models"] == {
        "Item": {"added": 2, "updated": 0, "deleted": 0},
        "Other": {"added": 1, "updated": 0, "deleted": 1},
    }


def _sent(fake_api: FakeApi) -> list[Seen]:
    return [seen for seen in fake_api.seen if seen.path == "/notify"]
