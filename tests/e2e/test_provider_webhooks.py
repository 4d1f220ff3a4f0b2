"""Provider webhooks over HTTP: a real client against a real ``corral serve`` on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import pathlib
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.webhooks import MAX_BODY_BYTES
from tests.support.service import Service, running_service

GITHUB_SECRET = "gh-webhook-secret"
SLACK_SECRET = "slack-signing-secret"

HOOKED = """
from nango import create_sync

def fetch(nango):
    pass

def on_webhook(nango, payload):
    nango.batch_save([{'id': str(payload['n'])}], 'Hook')

sync = create_sync(description='hooks', frequency='every day', auto_start=False,
                   exec=fetch, on_webhook=on_webhook, webhook_subscriptions=[%r])
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    address = f"127.0.0.1:{_free_port()}"
    data = tmp_path_factory.mktemp("serve") / "data"
    with running_service(data, CORRAL_WEBHOOK_ADDRESS=address) as svc:
        svc.webhook_url = f"http://{address}"  # type: ignore[attr-defined]
        yield svc
    assert svc.process.returncode == 0, pathlib.Path(svc.stderr_path).read_text()[-2000:]


@pytest.fixture(scope="module")
def url(service: Service) -> str:
    with Client(service.address, service.secret_key) as client:
        for key, provider, secret, subscription in (
            ("gh", "github", GITHUB_SECRET, "push"),
            ("sl", "slack", SLACK_SECRET, "message"),
        ):
            auth = json.dumps({"webhook_secret": secret})
            client.call(
                "CreateIntegration",
                pb.CreateIntegrationRequest(
                    unique_key=key, provider=provider, auth_mode="NONE", auth_config_json=auth
                ),
            )
            files = {"hooks.py": HOOKED % subscription}
            client.call("Deploy", pb.DeployRequest(integration=key, files=files))
        for cid, key, config in (
            ("gh-42", "gh", {"installation_id": "42"}),
            ("gh-43", "gh", {"installation_id": "43"}),
            ("sl-t1", "sl", {"team_id": "T1"}),
        ):
            client.call(
                "CreateConnection",
                pb.CreateConnectionRequest(
                    integration=key, connection_id=cid, connection_config_json=json.dumps(config)
                ),
            )
    return str(service.webhook_url)  # type: ignore[attr-defined]


def _github(body: bytes, secret: str = GITHUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"}


def _slack(body: bytes, stamp: int, secret: str = SLACK_SECRET) -> dict[str, str]:
    base = b"v0:" + str(stamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": str(stamp)}


def _ids(client: Client, connection: str) -> list[str]:
    request = pb.ListRecordsRequest(connection_id=connection, model="Hook")
    return sorted(json.loads(r.json)["id"] for r in client.call("ListRecords", request).records)


def _eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.1)


def _runs(client: Client, connection: str) -> int:
    return len(client.call("ListRuns", pb.ListRunsRequest(connection_id=connection)).runs)


@pytest.fixture
def client(service: Service) -> Iterator[Client]:
    with Client(service.address, service.secret_key, timeout=60) as c:
        yield c


def test_a_signed_github_webhook_runs_the_handler_of_the_routed_connection(
    url: str, client: Client
) -> None:
    body = json.dumps({"n": 1, "installation": {"id": 42}}).encode()
    answer = httpx.post(f"{url}/webhook/dev/gh", content=body, headers=_github(body))
    assert answer.status_code == 202, answer.text
    _eventually(lambda: _ids(client, "gh-42") == ["1"])
    assert _runs(client, "gh-43") == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        _github(b"another body"),
        _github(b'{"n": 2, "installation": {"id": 42}}', secret="not-the-secret"),
    ],
    ids=["unsigned", "zeros", "other-body", "other-secret"],
)
def test_unsigned_or_badly_signed_webhooks_are_refused(
    url: str, client: Client, service: Service, headers: dict[str, str]
) -> None:
    body = b'{"n": 2, "installation": {"id": 42}}'
    answer = httpx.post(f"{url}/webhook/dev/gh", content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_webhook_signature"
    time.sleep(0.3)
    assert "2" not in _ids(client, "gh-42")
    log = pathlib.Path(service.stderr_path).read_text()
    assert GITHUB_SECRET not in log
    assert "0" * 64 not in log


def test_slack_webhooks_are_verified_and_replays_refused(url: str, client: Client) -> None:
    body = json.dumps({"n": 7, "team_id": "T1", "event": {"type": "message"}}).encode()
    now = int(time.time())
    stale = httpx.post(f"{url}/webhook/dev/sl", content=body, headers=_slack(body, now - 301))
    assert stale.status_code == 401
    assert "five minutes" in stale.json()["message"]
    fresh = httpx.post(f"{url}/webhook/dev/sl", content=body, headers=_slack(body, now))
    assert fresh.status_code == 202
    _eventually(lambda: _ids(client, "sl-t1") == ["7"])


def test_oversize_bodies_non_json_and_unknown_names_are_refused(url: str) -> None:
    big = b"[" + b"1," * (MAX_BODY_BYTES // 2) + b"1]"
    assert httpx.post(f"{url}/webhook/dev/gh", content=big, headers=_github(big)).status_code == 413
    text = b"not json"
    answer = httpx.post(f"{url}/webhook/dev/gh", content=text, headers=_github(text))
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_json")
    ok = b"{}"
    for path in ("/webhook/dev/nope", "/webhook/nope/gh", "/webhooks/dev/gh", "/webhook/dev"):
        assert httpx.post(url + path, content=ok, headers=_github(ok)).status_code == 404, path
    assert httpx.get(f"{url}/webhook/dev/gh").status_code == 405


def test_a_signed_slack_url_verification_is_answered_with_its_challenge(url: str) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()
    headers = _slack(body, int(time.time()))
    answer = httpx.post(f"{url}/webhook/dev/sl", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"challenge": "abc123"})
    unsigned = httpx.post(f"{url}/webhook/dev/sl", content=body)
    assert unsigned.status_code == 401
