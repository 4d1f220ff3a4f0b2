"""Sync result notifications through a real ``corral serve``: set with the ``corral env``
commands, signed, sent again after 500s, with the records' counts per model."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import pathlib
import signal
import sqlite3
import time
from typing import Any

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.support.fake_api import FakeApi, Seen, running_hanging_api
from tests.support.processes import wait_for
from tests.support.service import Service, corral, running_service

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


HANGS = """
from nango import create_sync

def fetch(nango):
    nango.batch_save([{'id': 'h'}], 'Item')
    nango.get(endpoint='/hang')

sync = create_sync(description='hangs', frequency='every day', auto_start=False, exec=fetch)
"""


def _tries(data_dir: pathlib.Path, run_id: str) -> int | None:
    """The tries stored for the run's waiting notification (None: none waits), read from the
    store's file as it is."""
    with contextlib.closing(
        sqlite3.connect(f"file:{data_dir / 'corral.db'}?mode=ro", uri=True)
    ) as db:
        row = db.execute(
            "SELECT n.tries FROM sync_notifications AS n JOIN runs AS r ON r.id = n.run_pk"
            " WHERE r.run_id = ?",
            (run_id,),
        ).fetchone()
    return None if row is None else int(row[0])


def test_notifications_outlive_a_kill_9_of_the_orchestrator(tmp_path: pathlib.Path) -> None:
    """One sync ended and its first try failed; another is running when ``corral serve`` is
    killed with SIGKILL. The next start sends both: the first's second try, and the other's
    failure (the restart ended it)."""
    data_dir = tmp_path / "data"
    with running_hanging_api() as api:
        answers = [500]
        api.routes[("POST", "/notify")] = lambda _seen: (answers.pop(0) if answers else 200, {}, {})
        with running_service(data_dir) as service:
            client = Client(service.address, service.secret_key, timeout=60)
            patch = json.dumps({"notifications": {"url": api.url + "/notify"}})
            _admin(service, "settings", "dev", "--set", patch)
            secret = _admin(service, "notification-secret", "dev")["notification_secret"]
            client.call(
                "CreateIntegration",
                pb.CreateIntegrationRequest(unique_key="shop", base_url=api.url),
            )
            files = {"items.py": SYNC, "hangs.py": HANGS}
            client.call("Deploy", pb.DeployRequest(integration="shop", files=files))
            client.call(
                "CreateConnection",
                pb.CreateConnectionRequest(integration="shop", connection_id="c"),
            )
            ended = client.call(
                "TriggerSync", pb.TriggerSyncRequest(sync_name="items", connection_id="c")
            ).run_id
            assert wait_for(lambda: _tries(data_dir, ended) == 1, 30), "no first try"
            background = pb.TriggerSyncRequest(sync_name="hangs", connection_id="c")
            setattr(background, "async", True)
            hanging = client.call("TriggerSync", background).run_id
            assert wait_for(lambda: any(seen.path == "/hang" for seen in api.seen), 30)
            os.kill(service.process.pid, signal.SIGKILL)
            service.process.wait(timeout=10)
            client.close()
        assert len(_sent(api)) == 1
        with running_service(data_dir):
            assert wait_for(lambda: len(_sent(api)) == 3, 30), "the notifications were lost"
        bodies = {}
        for seen in _sent(api)[1:]:
            stamp = seen.headers[TIMESTAMP_HEADER.lower()]
            digest = hmac.new(secret.encode(), stamp.encode() + b"." + seen.body, hashlib.sha256)
            assert seen.headers[SIGNATURE_HEADER.lower()] == "v1=" + digest.hexdigest()
            body = json.loads(seen.body)
            bodies[body["sync"]] = body
    assert (bodies["items"]["run_id"], bodies["items"]["success"]) == (ended, True)
    assert bodies["items"]["models"]["Item"] == {"added": 2, "updated": 0, "deleted": 0}
    assert (bodies["hangs"]["run_id"], bodies["hangs"]["success"]) == (hanging, False)
    assert bodies["hangs"]["models"] == {"Item": {"added": 1, "updated": 0, "deleted": 0}}
