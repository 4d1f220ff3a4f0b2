"""OAuth 1.0a signing (OAUTH1, TBA): published vectors, and a local server that verifies."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from corral.errors import InvalidRequest
from orchestrator._clock import FakeClock
from orchestrator.proxy._credentials import ProxyTarget, inject, secrets_of
from orchestrator.proxy._egress import EgressPolicy, pinned_transport
from orchestrator.proxy._oauth1 import (
    OAuth1Keys,
    authorization,
    base_string,
    form_params,
    signature,
)
from orchestrator.proxy._proxy import OutboundRequest, Proxy
from tests.support.oauth1 import verify

RFC = OAuth1Keys("dpf43f3p2l4k3l03", "kd94hf93k423kf44", "nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
TWITTER = OAuth1Keys(
    "xvz1evFS4wEEPTGEFPHBog",
    "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
)
CONSUMER_SECRET = "consumer-secret-5e6f"
TOKEN_SECRET = "token-secret-7a8b"


def test_rfc_5849_section_1_2_example() -> None:
    params = [
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_token", "nnch734d00sl2jdk"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131202"),
        ("oauth_nonce", "chapoH"),
    ]
    url = "http://photos.example.net/photos?file=vacation.jpg&size=original"
    assert signature(RFC, base_string("GET", url, params)) == "MdpQcU8iPSUjWoN/UDMsK2sui9I="


def test_twitter_creating_a_signature_example() -> None:
    body = b"status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21"
    value = authorization(
        TWITTER,
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
        form_params("application/x-www-form-urlencoded; charset=utf-8", body),
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        timestamp=1318622958,
    )
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in value
    assert value.startswith('OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog",')


def test_base_uri_drops_default_ports_and_lowercases_the_host() -> None:
    base = base_string("get", "HTTPS://Api.Example.com:443/a%20b?x=1+2", [])
    assert base == "GET&https%3A%2F%2Fapi.example.com%2Fa%2520b&x%3D1%25202"
    assert "%3A8443" in base_string("GET", "https://h.example.com:8443/", [])


def test_only_a_form_body_is_signed() -> None:
    assert form_params("application/json", b"a=1") == []
    assert form_params("application/x-www-form-urlencoded", b"a=1&b=") == [("a", "1"), ("b", "")]
    assert form_params("application/x-www-form-urlencoded", None) == []


def test_unknown_signature_method_is_refused() -> None:
    with pytest.raises(ValueError, match="PLAINTEXT"):
        signature(OAuth1Keys("k", "s", "t", "ts", "PLAINTEXT"), "base")


# ---- a local server that checks signatures with its own code ---------------------------


@dataclass
class Verifier:
    url: str = ""
    verdicts: list[bool] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _VerifyingServer

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        header = self.headers.get("Authorization") or ""
        url = self.server.record.url + self.path
        content_type = self.headers.get("Content-Type") or ""
        ok = verify(self.command, url, header, body, content_type, (CONSUMER_SECRET, TOKEN_SECRET))
        self.server.record.verdicts.append(ok)
        self.server.record.headers.append(header)
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _handle  # noqa: N815 (http.server names)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _VerifyingServer(http.server.ThreadingHTTPServer):
    record: Verifier


@pytest.fixture
def verifier() -> Iterator[Verifier]:
    httpd = _VerifyingServer(("127.0.0.1", 0), _Handler)
    httpd.record = Verifier(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd.record
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    policy = EgressPolicy(allow_private=True)
    with httpx.Client(transport=pinned_transport(policy)) as client:
        yield Proxy(client, FakeClock(), policy)


def oauth1_target(base: str) -> ProxyTarget:
    credentials = {"type": "OAUTH1", "oauth_token": "tok-1234", "oauth_token_secret": TOKEN_SECRET}
    config = {"client_id": "consumer-1", "client_secret": CONSUMER_SECRET}
    return ProxyTarget(base, "OAUTH1", config, credentials)


def tba_target(base: str) -> ProxyTarget:
    credentials = {"type": "TBA", "token_id": "tid-1234", "token_secret": TOKEN_SECRET}
    config = {"client_id": "consumer-1", "client_secret": CONSUMER_SECRET}
    return ProxyTarget(base, "TBA", config, credentials, realm="1234567_SB1")


@pytest.mark.parametrize(
    "request_",
    [
        OutboundRequest("GET", "/records", params={"q": "a b+c", "empty": ""}),
        OutboundRequest(
            "POST",
            "/records?x=1",
            data=b"name=Ann+Lee&tag=%2A",
            headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        ),
        OutboundRequest("POST", "/records", data=b'{"a": "b=c"}', data_is_json=True),
    ],
)
def test_oauth1_requests_verify_at_the_server(
    proxy: Proxy, verifier: Verifier, request_: OutboundRequest
) -> None:
    result = proxy.send(request_, lambda: oauth1_target(verifier.url))
    assert result.status == 200
    assert verifier.verdicts == [True]
    assert 'oauth_signature_method="HMAC-SHA1"' in verifier.headers[0]
    assert 'oauth_token="tok-1234"' in verifier.headers[0]


def test_tba_signs_hmac_sha256_with_the_account_as_realm(proxy: Proxy, verifier: Verifier) -> None:
    result = proxy.send(
        OutboundRequest("GET", "/record/v1/customer"), lambda: tba_target(verifier.url)
    )
    assert result.status == 200
    assert verifier.verdicts == [True]
    header = verifier.headers[0]
    assert header.startswith('OAuth realm="1234567_SB1",oauth_consumer_key="consumer-1",')
    assert 'oauth_signature_method="HMAC-SHA256"' in header
    assert 'oauth_token="tid-1234"' in header


def test_each_request_gets_its_own_nonce() -> None:
    target = oauth1_target("https://api.example.com")
    first, _ = inject((), "https://api.example.com/x", target)
    second, _ = inject((), "https://api.example.com/x", target)
    assert first != second


def test_missing_signing_keys_are_named() -> None:
    target = ProxyTarget("https://a.example.com", "TBA", {"client_id": "c"}, {"token_id": "t"})
    with pytest.raises(InvalidRequest, match="consumer_secret"):
        inject((), "https://a.example.com/x", target)


def test_signing_secrets_are_secrets() -> None:
    found = set(secrets_of(tba_target("https://a.example.com")))
    assert {CONSUMER_SECRET, TOKEN_SECRET, "tid-1234"} <= found
    assert {"consumer-1", "1234567_SB1"}.isdisjoint(found)
    found = set(secrets_of(oauth1_target("https://a.example.com")))
    assert {CONSUMER_SECRET, TOKEN_SECRET, "tok-1234"} <= found
