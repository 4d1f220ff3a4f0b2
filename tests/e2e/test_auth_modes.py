"""The auth modes through the whole path, set up with the ``corral`` command: OAUTH2_CC and
GitHub App tokens from a local token server, OAUTH1 and TBA signatures checked by the local
API, and none of their secrets in what a function sees or what is stored about a run."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from corral.cli import Client
from corral.errors import RunFailure
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.fake_api import FakeApi, Seen
from tests.support.oauth1 import verify
from tests.support.service import Service, corral

GET = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/signed', params={'q': 'a b'}).data
"""

CONNECTION = """
from nango import create_action

def run(nango, input):
    return nango.get_connection()
"""

FILES = {
    "req.py": GET + "\naction = create_action(description='one request', exec=run)\n",
    "conn.py": CONNECTION + "\naction = create_action(description='connection', exec=run)\n",
}
CLIENT_SECRET = "cc-e2e-secret-91ab"
CONSUMER_SECRET = "consumer-e2e-secret-2c3d"
TOKEN_SECRET = "token-e2e-secret-4e5f"
PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    .decode()
)


class Tokens:
    """A token endpoint handing out numbered tokens under ``field``."""

    def __init__(self, field: str, status: int = 200, **extra: Any) -> None:
        self.field, self.status, self.extra = field, status, extra
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    def __call__(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.seen.append(seen)
            return self.status, {self.field: f"tok-{len(self.seen)}", **self.extra}, {}


@pytest.fixture(scope="module")
def web(service: Service, fake_api: FakeApi) -> Iterator[Client]:
    def echo(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        return 200, {"authorization": seen.headers.get("authorization", "")}, {}

    fake_api.routes[("GET", "/v1/signed")] = echo
    with Client(service.address, service.secret_key, timeout=60) as client:
        yield client


def cli(service: Service, *args: str) -> None:
    done = corral(service, *args)
    assert done.returncode == 0, done.stderr


def connect(  # noqa: PLR0917 (one integration, one connection)
    service: Service,
    web: Client,
    fake_api: FakeApi,
    key: str,
    mode: str,
    auth_config: dict[str, Any],
    credentials: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> None:
    web.call("Deploy", pb.DeployRequest(integration=key, files=FILES))
    cli(
        service,
        "integration",
        "create",
        key,
        "--auth-mode",
        mode,
        "--base-url",
        fake_api.url + "/v1",
        "--auth-config",
        json.dumps(auth_config),
    )
    cli(
        service,
        "connection",
        "create",
        "--integration",
        key,
        "--id",
        key,
        "--credentials",
        json.dumps({"type": mode, **credentials}),
        "--config",
        json.dumps(config or {}),
    )


def test_client_credentials_token_is_fetched_once_and_sent(
    service: Service, web: Client, fake_api: FakeApi
) -> None:
    tokens = Tokens("access_token", expires_in=3600)
    fake_api.routes[("POST", "/cc/token")] = tokens
    config = {"token_url": fake_api.url + "/cc/token", "client_id": "cid", "scopes": ["read"]}
    connect(service, web, fake_api, "cc", "OAUTH2_CC", config, {"client_secret": CLIENT_SECRET})
    for _ in range(2):
        assert h.action(web, "req", {}, connection="cc") == {"authorization": "Bearer tok-1"}
    assert len(tokens.seen) == 1
    form = urllib.parse.parse_qs(tokens.seen[0].body.decode())
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_secret"] == [CLIENT_SECRET]
    seen = h.action(web, "conn", {}, connection="cc")["credentials"]
    assert seen["token"] == "tok-1"
    assert CLIENT_SECRET not in json.dumps(seen)


def test_a_refused_grant_fails_the_run_without_the_secret(
    service: Service, web: Client, fake_api: FakeApi
) -> None:
    fake_api.routes[("POST", "/cc-bad/token")] = Tokens("error", status=401)
    config = {"token_url": fake_api.url + "/cc-bad/token", "client_id": "cid"}
    connect(service, web, fake_api, "ccbad", "OAUTH2_CC", config, {"client_secret": CLIENT_SECRET})
    with pytest.raises(RunFailure) as caught:
        h.action(web, "req", {}, connection="ccbad")
    assert CLIENT_SECRET not in str(caught.value) + json.dumps(caught.value.payload)
    runs = web.call("ListRuns", pb.ListRunsRequest(connection_id="ccbad")).runs
    assert runs
    assert CLIENT_SECRET not in str(runs)


def test_github_app_installation_token_is_sent(
    service: Service, web: Client, fake_api: FakeApi
) -> None:
    tokens = Tokens("token", status=201, expires_at="2099-01-01T00:00:00Z")
    fake_api.routes[("POST", "/app/installations/77/access_tokens")] = tokens
    token_url = (
        fake_api.url + "/app/installations/${connectionConfig.installation_id}/access_tokens"
    )
    config = {"app_id": "4242", "private_key": PEM, "token_url": token_url}
    connect(service, web, fake_api, "ghapp", "APP", config, {}, {"installation_id": "77"})
    assert h.action(web, "req", {}, connection="ghapp") == {"authorization": "Bearer tok-1"}
    assert tokens.seen[0].headers["authorization"].startswith("Bearer ey")
    seen = h.action(web, "conn", {}, connection="ghapp")
    assert seen["credentials"]["access_token"] == "tok-1"
    assert "PRIVATE KEY" not in json.dumps(seen)


SIGNED = {
    "OAUTH1": ({"oauth_token": "t-1", "oauth_token_secret": TOKEN_SECRET}, "HMAC-SHA1"),
    "TBA": ({"token_id": "t-1", "token_secret": TOKEN_SECRET}, "HMAC-SHA256"),
}


@pytest.mark.parametrize("mode", sorted(SIGNED))
def test_signed_requests_verify_at_the_api(
    service: Service, web: Client, fake_api: FakeApi, mode: str
) -> None:
    credentials, method = SIGNED[mode]
    key = mode.lower()
    config = {"client_id": "consumer-1", "client_secret": CONSUMER_SECRET}
    connect(service, web, fake_api, key, mode, config, credentials, {"accountId": "123-sb1"})
    header = h.action(web, "req", {}, connection=key)["authorization"]
    url = fake_api.url + "/v1/signed?q=a%20b"
    assert verify("GET", url, header, b"", "", (CONSUMER_SECRET, TOKEN_SECRET))
    assert f'oauth_signature_method="{method}"' in header
    assert header.startswith('OAuth realm="123_SB1",') == (mode == "TBA")
    seen = json.dumps(h.action(web, "conn", {}, connection=key))
    assert TOKEN_SECRET not in seen
    assert CONSUMER_SECRET not in seen
