"""Fetched tokens (OAUTH2_CC, GitHub App) against a local token server: fetched, cached until
near expiry, fetched once by runs that need one together, and kept from workers and logs."""

from __future__ import annotations

import base64
import json
import pathlib
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from corral.errors import InvalidRequest, RunFailure
from orchestrator._clock import FakeClock
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._credentials import redact
from orchestrator.proxy._grants import app_jwt
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._sqlite import SqliteStorage
from tests.support.fake_api import FakeApi, Seen, running_fake_api

NOW = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
CLIENT_SECRET = "cc-secret-3f4e5d"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
).decode()


class TokenServer:
    """Hands out numbered tokens; ``hold`` keeps each answer until set (to overlap runs)."""

    def __init__(self, body: dict[str, Any], status: int = 200) -> None:
        self.body, self.status = body, status
        self.seen: list[Seen] = []
        self.hold = threading.Event()
        self.hold.set()

    def __call__(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        self.seen.append(seen)
        self.hold.wait(10)
        n = len(self.seen)
        body = {
            k: v.replace("{n}", str(n)) if isinstance(v, str) else v for k, v in self.body.items()
        }
        return self.status, body, {}

    def form(self, index: int = 0) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.seen[index].body.decode())


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with running_fake_api() as running:
        yield running


@pytest.fixture
def storage(tmp_path: pathlib.Path) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "corral.db")
    yield store
    store.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def service(storage: SqliteStorage, clock: FakeClock) -> Iterator[ConnectionService]:
    with httpx.Client() as client:
        yield ConnectionService(storage, client, clock)


def connect(
    storage: SqliteStorage,
    mode: str,
    auth_config: dict[str, Any],
    credentials: dict[str, Any] | None = None,
    connection_config: dict[str, Any] | None = None,
) -> RunScope:
    env, _ = storage.create_environment("dev")
    storage.upsert_integration(
        env.id,
        "api",
        provider="api",
        base_url="https://api.example.com",
        auth_mode=mode,
        auth_config=auth_config,
    )
    storage.create_connection(
        env.id,
        "api",
        "c1",
        credentials={"type": mode, **(credentials or {})},
        connection_config=connection_config or {},
        metadata={},
    )
    return RunScope(
        env_id=env.id,
        run_id="run-1",
        connection_id="c1",
        integration_key="api",
        kind="action",
        function_name="f",
        variant="base",
    )


def cc_scope(storage: SqliteStorage, api: FakeApi, **config: Any) -> RunScope:
    auth_config = {"token_url": api.url + "/oauth/token", "client_id": "cid", **config}
    return connect(storage, "OAUTH2_CC", auth_config, {"client_secret": CLIENT_SECRET})


def bearer(service: ConnectionService, scope: RunScope) -> str:
    target = service.proxy_target(scope)
    return target.credentials.get("token") or target.credentials["access_token"]


def test_client_credentials_token_is_fetched_then_cached_until_near_expiry(
    service: ConnectionService, storage: SqliteStorage, api: FakeApi, clock: FakeClock
) -> None:
    tokens = TokenServer({"access_token": "cc-{n}", "expires_in": 3600, "token_type": "bearer"})
    api.routes[("POST", "/oauth/token")] = tokens
    scope = cc_scope(storage, api, scopes=["read", "write"])
    assert bearer(service, scope) == "cc-1"
    assert tokens.form() == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": [CLIENT_SECRET],
        "scope": ["read write"],
    }
    clock.advance(3600 - 301)
    assert bearer(service, scope) == "cc-1"
    assert len(tokens.seen) == 1
    clock.advance(2)  # now within 5 minutes of expiry
    assert bearer(service, scope) == "cc-2"
    assert len(tokens.seen) == 2
    stored = storage.get_connection(scope.env_id, "c1").credentials
    assert stored["client_secret"] == CLIENT_SECRET  # the connection's own secret is kept
    assert stored["expires_at"] == "2026-03-08T10:55:01.000Z"


def test_concurrent_runs_fetch_the_token_once(
    service: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    tokens = TokenServer({"access_token": "cc-{n}", "expires_in": 3600})
    tokens.hold.clear()
    api.routes[("POST", "/oauth/token")] = tokens
    scope = cc_scope(storage, api)
    seen: list[str] = []
    runs = [threading.Thread(target=lambda: seen.append(bearer(service, scope))) for _ in range(8)]
    for run in runs:
        run.start()
    while not tokens.seen:
        threading.Event().wait(0.01)
    threading.Event().wait(0.2)  # let the other runs reach the lock
    tokens.hold.set()
    for run in runs:
        run.join(10)
    assert seen == ["cc-1"] * 8
    assert len(tokens.seen) == 1


def test_a_refused_grant_is_typed_and_keeps_the_secret_out(
    service: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    api.routes[("POST", "/oauth/token")] = TokenServer({"error": "invalid_client"}, status=401)
    scope = cc_scope(storage, api)
    with pytest.raises(RunFailure) as caught:
        service.proxy_target(scope)
    assert caught.value.code == "script_http_error"
    assert "invalid_client" in caught.value.message
    assert CLIENT_SECRET not in caught.value.message + json.dumps(caught.value.payload)


def test_the_function_never_sees_the_client_secret(
    service: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    api.routes[("POST", "/oauth/token")] = TokenServer({"access_token": "cc-{n}"})
    scope = cc_scope(storage, api)
    view = service.connection_view(scope, force_refresh=False, include_refresh_token=False)
    assert view["credentials"]["token"] == "cc-1"
    assert "client_secret" not in view["credentials"]
    secrets = service.secrets(scope)
    assert {"cc-1", CLIENT_SECRET} <= set(secrets)


def _decode(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_github_app_jwt_is_rs256_and_verifies_with_the_public_key() -> None:
    jwt = app_jwt("4242", PEM, NOW)
    head, body, signed = jwt.split(".")
    assert _decode(head) == {"alg": "RS256", "typ": "JWT"}
    claims = _decode(body)
    assert claims == {
        "iat": int(NOW.timestamp()) - 60,
        "exp": int((NOW + timedelta(minutes=9)).timestamp()),
        "iss": "4242",
    }
    signature = base64.urlsafe_b64decode(signed + "=" * (-len(signed) % 4))
    KEY.public_key().verify(
        signature, f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def app_scope(storage: SqliteStorage, api: FakeApi, private_key: str = PEM) -> RunScope:
    token_url = api.url + "/app/installations/${connectionConfig.installation_id}/access_tokens"
    config = {"app_id": "4242", "private_key": private_key, "token_url": token_url}
    return connect(storage, "APP", config, connection_config={"installation_id": "99"})


def test_github_app_installation_token_is_fetched_with_the_jwt_and_cached(
    service: ConnectionService, storage: SqliteStorage, api: FakeApi, clock: FakeClock
) -> None:
    tokens = TokenServer({"token": "ghs_{n}", "expires_at": "2026-03-08T10:00:00Z"}, status=201)
    api.routes[("POST", "/app/installations/99/access_tokens")] = tokens
    scope = app_scope(storage, api)
    assert bearer(service, scope) == "ghs_1"
    jwt = tokens.seen[0].headers["authorization"].removeprefix("Bearer ")
    assert _decode(jwt.split(".")[1])["iss"] == "4242"
    assert tokens.seen[0].headers["accept"] == "application/vnd.github+json"
    clock.advance(3600 - 301)
    assert bearer(service, scope) == "ghs_1"
    clock.advance(2)
    assert bearer(service, scope) == "ghs_2"
    forced = service.connection_view(scope, force_refresh=True, include_refresh_token=False)
    assert forced["credentials"]["access_token"] == "ghs_3"
    secrets = set(service.secrets(scope))
    assert {"ghs_3", PEM} <= secrets
    assert all(line in secrets for line in PEM.splitlines()[1:-2])


def test_github_app_failures_never_show_the_key_or_the_jwt(
    service: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    tokens = TokenServer({"message": "A JSON web token could not be decoded"}, status=401)
    api.routes[("POST", "/app/installations/99/access_tokens")] = tokens
    scope = app_scope(storage, api)
    with pytest.raises(RunFailure) as caught:
        service.proxy_target(scope)
    jwt = tokens.seen[0].headers["authorization"].removeprefix("Bearer ")
    text = caught.value.message + json.dumps(caught.value.payload)
    assert "could not be decoded" in text
    assert jwt not in text
    assert redact(PEM, service.secrets(scope)) == "***"


def test_a_github_app_key_that_is_no_rsa_key_is_refused(
    service: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    scope = app_scope(storage, api, private_key="not a key")
    with pytest.raises(Exception, match="RSA private key"):
        service.proxy_target(scope)


def test_tba_realm_is_the_account_in_netsuite_form(
    service: ConnectionService, storage: SqliteStorage
) -> None:
    credentials = {"token_id": "tid", "token_secret": "ts-1234"}
    config = {"client_id": "ck", "client_secret": "cs-1234"}
    scope = connect(storage, "TBA", config, credentials, {"accountId": "1234567-sb1"})
    assert service.proxy_target(scope).realm == "1234567_SB1"
    view = service.connection_view(scope, force_refresh=False, include_refresh_token=False)
    assert view["credentials"] == {"type": "TBA", "token_id": "tid"}


def test_a_github_app_without_its_installation_is_named(
    service: ConnectionService, storage: SqliteStorage
) -> None:
    config = {"app_id": "4242", "private_key": PEM}  # the catalogue's URL needs installation_id
    scope = connect(storage, "APP", config)
    storage.upsert_integration(
        scope.env_id,
        "api",
        provider="github-app",
        base_url="",
        auth_mode="APP",
        auth_config=config,
    )
    with pytest.raises(InvalidRequest, match="token_url") as caught:
        service.proxy_target(scope)
    assert caught.value.code == "missing_token_url"
