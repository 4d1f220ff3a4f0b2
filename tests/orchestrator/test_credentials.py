"""Credential injection per auth mode, redaction, and the OAuth2 refresh helper."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from corral.errors import InvalidRequest, RunFailure
from orchestrator._clock import FakeClock
from orchestrator.proxy._credentials import (
    ProxyTarget,
    inject,
    may_send_credentials,
    needs_refresh,
    redact,
    secrets_of,
)
from orchestrator.proxy._grants import refresh_oauth2

BASE = "https://api.example.com/v1"
URL = "https://api.example.com/v1/items"


def target(mode: str, credentials: dict[str, Any], **config: Any) -> ProxyTarget:
    return ProxyTarget(BASE, mode, config, {"type": mode, **credentials})


def header(headers: tuple[tuple[str, str], ...], name: str) -> list[str]:
    return [v for n, v in headers if n.lower() == name.lower()]


def test_api_key_defaults_to_bearer_authorization() -> None:
    headers, url = inject((), URL, target("API_KEY", {"api_key": "k-123456"}))
    assert header(headers, "Authorization") == ["Bearer k-123456"]
    assert url == URL


def test_api_key_in_a_named_header_with_a_format() -> None:
    t = target("API_KEY", {"api_key": "k-123456"}, header="X-Api-Key", format="Token {api_key}")
    headers, _ = inject((("x-api-key", "mine"),), URL, t)
    assert header(headers, "X-Api-Key") == ["Token k-123456"]


def test_api_key_in_a_named_header_defaults_to_the_bare_key() -> None:
    t = target("API_KEY", {"api_key": "k-123456"}, header="X-Api-Key")
    headers, _ = inject((("Authorization", "HMAC sig"),), URL, t)
    assert header(headers, "X-Api-Key") == ["k-123456"]
    assert header(headers, "Authorization") == ["HMAC sig"]


def test_api_key_in_the_query_replaces_a_same_named_param() -> None:
    t = target("API_KEY", {"api_key": "k 1&2"}, query="api_key")
    headers, url = inject((), URL + "?api_key=evil&page=2", t)
    assert headers == ()
    assert url == URL + "?page=2&api_key=k%201%262"


def test_bearer_basic_and_oauth2() -> None:
    bearer, _ = inject((), URL, target("BEARER", {"token": "tok-abcdef"}))
    assert header(bearer, "authorization") == ["Bearer tok-abcdef"]
    oauth, _ = inject((), URL, target("OAUTH2", {"access_token": "acc-abcdef"}))
    assert header(oauth, "authorization") == ["Bearer acc-abcdef"]
    basic, _ = inject((), URL, target("BASIC", {"username": "ann", "password": "pw:1"}))
    blob = base64.b64encode(b"ann:pw:1").decode()
    assert header(basic, "authorization") == [f"Basic {blob}"]


def test_basic_with_empty_password() -> None:
    basic, _ = inject((), URL, target("BASIC", {"username": "ann"}))
    assert header(basic, "authorization") == [f"Basic {base64.b64encode(b'ann:').decode()}"]


def test_fetched_tokens_are_sent_as_bearer() -> None:
    cc, _ = inject((), URL, target("OAUTH2_CC", {"token": "cc-abcdef", "client_secret": "cs"}))
    assert header(cc, "authorization") == ["Bearer cc-abcdef"]
    app, _ = inject((), URL, target("APP", {"access_token": "ghs_abcdef"}))
    assert header(app, "authorization") == ["Bearer ghs_abcdef"]
    with pytest.raises(InvalidRequest, match="token"):
        inject((), URL, target("OAUTH2_CC", {}))


def test_none_injects_nothing() -> None:
    headers, url = inject((("Authorization", "mine"),), URL, target("NONE", {}))
    assert headers == (("Authorization", "mine"),)
    assert url == URL


def test_function_authorization_is_replaced_case_insensitively() -> None:
    given = (("authorization", "Bearer mine"), ("AUTHORIZATION", "x"), ("Accept", "a/b"))
    headers, _ = inject(given, URL, target("OAUTH2", {"access_token": "acc-abcdef"}))
    assert header(headers, "Authorization") == ["Bearer acc-abcdef"]
    assert header(headers, "Accept") == ["a/b"]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/v1/items",
        "http://api.example.com/v1/items",
        "https://api.example.com:8443/v1/items",
        "https://api.example.com.evil.net/v1",
        "https://api.example.com@evil.net/v1",
    ],
)
def test_never_injected_off_origin(url: str) -> None:
    t = target("API_KEY", {"api_key": "k-123456"}, query="api_key")
    headers, out = inject((("Authorization", "mine"),), url, t)
    assert headers == (("Authorization", "mine"),)
    assert out == url


def test_same_origin_is_scheme_host_port_with_default_ports() -> None:
    t = target("NONE", {})
    assert may_send_credentials("https://API.example.com:443/other/path", t)
    assert not may_send_credentials("https://api.example.com:444/", t)


def test_allowed_origins_may_be_one_string() -> None:
    t = target("NONE", {}, allowed_origins="https://uploads.example.com")
    assert may_send_credentials("https://uploads.example.com/x", t)
    assert not may_send_credentials("https://u.example.com/x", t)


def test_allowed_origins_may_see_credentials() -> None:
    t = target("BEARER", {"token": "tok-abcdef"}, allowed_origins=["https://uploads.example.com"])
    headers, _ = inject((), "https://uploads.example.com/put", t)
    assert header(headers, "authorization") == ["Bearer tok-abcdef"]


def test_missing_credential_and_unknown_mode_are_invalid() -> None:
    with pytest.raises(InvalidRequest, match="api_key"):
        inject((), URL, target("API_KEY", {}))
    with pytest.raises(InvalidRequest, match="auth mode"):
        inject((), URL, target("HAWK", {}))


def test_format_placeholders_cannot_reach_attributes() -> None:
    t = target("API_KEY", {"api_key": "k-123456"}, header="X-Key", format="{api_key.__class__}")
    headers, _ = inject((), URL, t)
    assert header(headers, "X-Key") == ["{api_key.__class__}"]


def test_secrets_of_covers_injected_values_and_secret_looking_fields() -> None:
    t = target(
        "BASIC",
        {"username": "ann", "password": "hunter22", "raw": {"refresh_token": "ref-xyz1"}},
    )
    found = secrets_of(t)
    blob = base64.b64encode(b"ann:hunter22").decode()
    assert {"hunter22", blob, f"Basic {blob}", "ref-xyz1"} <= set(found)
    assert "ann" not in found


def test_secrets_of_covers_fetched_tokens_and_the_integrations_secrets() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 64 + "\nBBBBBBBBBBBBBBBBBBBB\nCC==\n"
    pem += "-----END RSA PRIVATE KEY-----\n"
    config = {"app_id": "12345", "private_key": pem, "client_id": "cid-1", "token_url": BASE}
    found = set(secrets_of(target("APP", {"access_token": "ghs_abcdef"}, **config)))
    assert {"ghs_abcdef", "Bearer ghs_abcdef", pem, "A" * 64, "B" * 20} <= found
    assert {"12345", "cid-1", BASE, "CC=="}.isdisjoint(found)
    cc = target("OAUTH2_CC", {"token": "cc-abcdef", "client_secret": "cs-1234"})
    assert {"cc-abcdef", "cs-1234"} <= set(secrets_of(cc))
    in_config = target("OAUTH2_CC", {"token": "cc-abcdef"}, client_secret="cs-5678")
    assert "cs-5678" in secrets_of(in_config)


def test_plain_words_beside_tokens_are_not_secrets() -> None:
    raw = {"access_token": "acc-abcdef", "token_type": "bearer", "expires_in": 3600}
    found = secrets_of(target("OAUTH2", {"access_token": "acc-abcdef", "raw": raw}))
    assert "acc-abcdef" in found
    assert "bearer" not in found
    assert "3600" not in found


def test_redact_replaces_raw_and_encoded_forms() -> None:
    secret = "a b/c+d"
    text = "raw a b/c+d, quoted a%20b%2Fc%2Bd, plus a+b%2Fc%2Bd, query a%20b%2Fc%2Bd"
    assert secret not in redact(text, [secret])
    assert redact(text, [secret]).count("***") == 4
    assert redact("nothing here", ["", "zzz"]) == "nothing here"


def test_needs_refresh_within_15_minutes() -> None:
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    soon = (now + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    later = (now + timedelta(hours=1)).isoformat()
    assert needs_refresh({"expires_at": soon}, now)
    assert not needs_refresh({"expires_at": later}, now)
    assert needs_refresh({"expires_at": later}, now, within=timedelta(hours=2))
    assert needs_refresh({"expires_at": "2023-01-01T00:00:00.000Z"}, now)
    assert not needs_refresh({}, now)
    assert needs_refresh({"expires_at": "garbage"}, now)


class TokenEndpoint:
    """A fake OAuth2 token endpoint for httpx.MockTransport."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status = status
        self.body = body if body is not None else {}
        self.forms: list[dict[str, list[str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        self.forms.append(parse_qs(request.content.decode()))
        return httpx.Response(self.status, content=json.dumps(self.body).encode())


def refresh(endpoint: TokenEndpoint, clock: FakeClock | None = None) -> dict[str, Any]:
    with httpx.Client(transport=httpx.MockTransport(endpoint)) as client:
        return refresh_oauth2(
            client,
            "https://auth.example.com/token",
            "cid",
            "csecret-123",
            "old-refresh",
            clock or FakeClock(),
        )


def test_refresh_oauth2_posts_the_grant_and_computes_expires_at() -> None:
    body = {"access_token": "new-acc", "refresh_token": "new-ref", "expires_in": 3600}
    endpoint = TokenEndpoint(body=body)
    creds = refresh(endpoint, FakeClock(datetime(2024, 3, 8, 9, 0, tzinfo=UTC)))
    assert endpoint.forms == [
        {
            "grant_type": ["refresh_token"],
            "refresh_token": ["old-refresh"],
            "client_id": ["cid"],
            "client_secret": ["csecret-123"],
        }
    ]
    assert creds["type"] == "OAUTH2"
    assert creds["access_token"] == "new-acc"
    assert creds["refresh_token"] == "new-ref"
    assert creds["expires_at"] == "2024-03-08T10:00:00.000Z"
    assert creds["raw"] == body


def test_refresh_oauth2_keeps_a_refresh_token_not_rotated() -> None:
    creds = refresh(TokenEndpoint(body={"access_token": "new-acc"}))
    assert creds["refresh_token"] == "old-refresh"
    assert "expires_at" not in creds


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, {"error": "invalid_grant"}), (200, {"token_type": "bearer"}), (500, ["x"])],
)
def test_refresh_oauth2_failure_is_typed_and_redacted(status: int, body: Any) -> None:
    with pytest.raises(RunFailure) as caught:
        refresh(TokenEndpoint(status, body))
    assert caught.value.code == "script_http_error"
    assert caught.value.payload["code"] == "refresh_token_external_error"
    text = caught.value.message + json.dumps(caught.value.payload)
    assert "csecret-123" not in text
    assert "old-refresh" not in text


def test_refresh_oauth2_network_failure() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    with (
        httpx.Client(transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(RunFailure) as caught,
    ):
        refresh_oauth2(client, "https://auth.example.com/t", "c", "s-secret", "r-tok", FakeClock())
    assert caught.value.code == "script_network_error"
    assert caught.value.payload["code"] == "ECONNREFUSED"
