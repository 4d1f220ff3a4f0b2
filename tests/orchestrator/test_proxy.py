"""The outbound proxy, against a real local HTTP server and scripted transports."""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from corral.errors import InvalidRequest, RunFailure
from orchestrator._clock import FakeClock
from orchestrator.proxy._egress import EgressPolicy, pinned_transport
from orchestrator.proxy._proxy import OutboundRequest, Proxy, ProxyResult, ProxyTarget

API_KEY = "sk-live-4f9a8b7c6d5e"
TOKEN = "tok-9c8b7a6f5e4d"
PUBLIC = EgressPolicy(resolver=lambda host, port: ["93.184.216.34"])
LOCAL = EgressPolicy(allow_private=True)


# ---- a real local server -------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]


@dataclass
class Server:
    url: str
    requests: list[Seen] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _RecordingServer

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, list(self.headers.items()), body)
        self.server.record.requests.append(seen)
        route = urlsplit(self.path)
        getattr(self, "_" + route.path.strip("/").split("/")[0], self._echo)(seen, route)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 (http.server names)

    def _reply(self, status: int, body: bytes, *headers: tuple[str, str]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def _echo(self, seen: Seen, route: Any) -> None:
        self._reply(200, json.dumps({"path": seen.path}).encode(), ("Content-Type", "a/json"))

    def _status(self, seen: Seen, route: Any) -> None:
        status = int(route.path.rsplit("/", 1)[1])
        self._reply(status, b"" if status == 204 else json.dumps({"status": status}).encode())

    def _gzip(self, seen: Seen, route: Any) -> None:
        self._reply(200, gzip.compress(b'{"zipped": true}'), ("Content-Encoding", "gzip"))

    def _big(self, seen: Seen, route: Any) -> None:
        self._reply(200, b"x" * 5000)

    def _cookie(self, seen: Seen, route: Any) -> None:
        self._reply(200, b"{}", ("Set-Cookie", "sid=abc123; Path=/"))

    def _redirect(self, seen: Seen, route: Any) -> None:
        query = parse_qs(route.query)
        self._reply(int(query["code"][0]), b"", ("Location", query["to"][0]))

    def log_message(self, format: str, *args: object) -> None:
        pass


class _RecordingServer(http.server.ThreadingHTTPServer):
    record: Server


def _serve() -> Iterator[Server]:
    httpd = _RecordingServer(("127.0.0.1", 0), _Handler)
    httpd.record = Server(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield httpd.record
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from _serve()


@pytest.fixture
def other_server() -> Iterator[Server]:
    yield from _serve()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def local_proxy(clock: FakeClock) -> Iterator[Proxy]:
    with httpx.Client(transport=pinned_transport(LOCAL)) as client:
        yield Proxy(client, clock, LOCAL)


def api_key_target(base: str, **config: Any) -> ProxyTarget:
    return ProxyTarget(base, "API_KEY", config, {"type": "API_KEY", "api_key": API_KEY})


def fixed(target: ProxyTarget) -> Callable[[], ProxyTarget]:
    return lambda: target


# ---- happy paths against the real server --------------------------------------------------


def test_api_key_header_arrives_and_replaces_the_functions(
    local_proxy: Proxy, server: Server
) -> None:
    target = api_key_target(server.url, header="X-Api-Key")
    request = OutboundRequest("get", "/echo", headers=(("X-API-KEY", "forged"), ("Accept", "a")))
    result = local_proxy.send(request, fixed(target))
    assert result.status == 200
    assert result.method == "GET"
    assert result.attempts == 1
    assert server.requests[0].header("x-api-key") == [API_KEY]
    assert server.requests[0].header("accept") == ["a"]


@pytest.mark.parametrize(
    ("mode", "credentials", "expected"),
    [
        ("API_KEY", {"api_key": API_KEY}, f"Bearer {API_KEY}"),
        ("BEARER", {"token": TOKEN}, f"Bearer {TOKEN}"),
        ("OAUTH2", {"access_token": TOKEN}, f"Bearer {TOKEN}"),
        (
            "BASIC",
            {"username": "u", "password": "p@ss"},
            "Basic " + base64.b64encode(b"u:p@ss").decode(),
        ),
    ],
)
def test_each_auth_mode_sends_one_authorization(
    local_proxy: Proxy, server: Server, mode: str, credentials: dict[str, str], expected: str
) -> None:
    target = ProxyTarget(server.url, mode, {}, {"type": mode, **credentials})
    request = OutboundRequest("GET", "/echo", headers=(("authorization", "Bearer mine"),))
    local_proxy.send(request, fixed(target))
    assert server.requests[0].header("Authorization") == [expected]


def test_api_key_in_the_query_is_sent_but_not_reported(local_proxy: Proxy, server: Server) -> None:
    target = api_key_target(server.url, query="api_key")
    result = local_proxy.send(OutboundRequest("GET", "/echo?x=1"), fixed(target))
    assert server.requests[0].path == f"/echo?x=1&api_key={API_KEY}"
    assert API_KEY not in result.url
    assert result.url.endswith("/echo?x=1&api_key=***")


def test_params_merge_into_the_endpoints_query(local_proxy: Proxy, server: Server) -> None:
    params = {"page": 2, "labels": ["a", "b c"], "flag": True, "skip": None, "ratio": 1.0}
    request = OutboundRequest("GET", "/echo?state=open&page=1&q=a%2Fb", params=params)
    local_proxy.send(request, fixed(ProxyTarget(server.url, "NONE", {}, {})))
    assert (
        server.requests[0].path
        == "/echo?state=open&q=a%2Fb&page=2&labels=a,b%20c&flag=true&ratio=1"
    )


def test_string_params_are_appended(local_proxy: Proxy, server: Server) -> None:
    request = OutboundRequest("GET", "/echo?a=1", params="b=2&c=%7E")
    local_proxy.send(request, fixed(ProxyTarget(server.url + "/", "NONE", {}, {})))
    assert server.requests[0].path == "/echo?a=1&b=2&c=%7E"


def test_json_body_gets_a_content_type(local_proxy: Proxy, server: Server) -> None:
    request = OutboundRequest("post", "echo", data=b'{"a": 1}', data_is_json=True)
    result = local_proxy.send(request, fixed(ProxyTarget(server.url, "NONE", {}, {})))
    assert result.method == "POST"
    assert server.requests[0].body == b'{"a": 1}'
    assert server.requests[0].header("content-type") == ["application/json"]


def test_the_functions_content_type_wins(local_proxy: Proxy, server: Server) -> None:
    request = OutboundRequest(
        "PUT",
        "/echo",
        headers=(("Content-Type", "application/vnd+json"),),
        data=b"{}",
        data_is_json=True,
    )
    local_proxy.send(request, fixed(ProxyTarget(server.url, "NONE", {}, {})))
    assert server.requests[0].header("content-type") == ["application/vnd+json"]


@pytest.mark.parametrize("status", [201, 404, 500])
def test_any_status_is_returned_not_raised(local_proxy: Proxy, server: Server, status: int) -> None:
    result = local_proxy.send(
        OutboundRequest("GET", f"/status/{status}"), fixed(ProxyTarget(server.url, "NONE", {}, {}))
    )
    assert result.status == status
    assert json.loads(result.body) == {"status": status}


def test_empty_204(local_proxy: Proxy, server: Server) -> None:
    result = local_proxy.send(
        OutboundRequest("DELETE", "/status/204"), fixed(ProxyTarget(server.url, "NONE", {}, {}))
    )
    assert (result.status, result.body) == (204, b"")


def test_gzip_is_decoded_and_its_headers_dropped(local_proxy: Proxy, server: Server) -> None:
    result = local_proxy.send(
        OutboundRequest("GET", "/gzip"), fixed(ProxyTarget(server.url, "NONE", {}, {}))
    )
    assert json.loads(result.body) == {"zipped": True}
    names = {name for name, _ in result.headers}
    assert "content-encoding" not in names
    assert "content-length" not in names


def test_response_size_cap(server: Server, clock: FakeClock) -> None:
    with httpx.Client(transport=pinned_transport(LOCAL)) as client:
        proxy = Proxy(client, clock, LOCAL, max_response_bytes=1000)
        with pytest.raises(RunFailure) as caught:
            proxy.send(
                OutboundRequest("GET", "/big"), fixed(ProxyTarget(server.url, "NONE", {}, {}))
            )
    assert caught.value.code == "resource_exhausted"
    assert caught.value.payload["resource"] == "response_size"


def test_set_cookie_is_returned_but_never_kept(local_proxy: Proxy, server: Server) -> None:
    target = fixed(ProxyTarget(server.url, "NONE", {}, {}))
    result = local_proxy.send(OutboundRequest("GET", "/cookie"), target)
    assert ("set-cookie", "sid=abc123; Path=/") in result.headers
    local_proxy.send(OutboundRequest("GET", "/echo"), target)
    assert server.requests[1].header("cookie") == []


def test_same_origin_redirect_keeps_credentials(local_proxy: Proxy, server: Server) -> None:
    request = OutboundRequest("GET", "/redirect", params={"code": 302, "to": "/echo?x=1"})
    result = local_proxy.send(request, fixed(api_key_target(server.url)))
    assert result.status == 200
    assert result.url == f"{server.url}/echo?x=1"
    assert [s.header("authorization") for s in server.requests] == [[f"Bearer {API_KEY}"]] * 2


def test_cross_origin_redirect_drops_credentials(
    local_proxy: Proxy, server: Server, other_server: Server
) -> None:
    request = OutboundRequest(
        "POST",
        "/redirect",
        params={"code": 303, "to": other_server.url + "/echo"},
        headers=(("Cookie", "a=b"),),
        data=b"{}",
    )
    result = local_proxy.send(request, fixed(api_key_target(server.url)))
    assert (result.status, result.method) == (200, "GET")
    seen = other_server.requests[0]
    assert (seen.method, seen.body) == ("GET", b"")
    assert seen.header("authorization") == []
    assert seen.header("cookie") == []


def test_credentials_are_not_sent_to_another_origin(
    local_proxy: Proxy, server: Server, other_server: Server
) -> None:
    target = fixed(api_key_target(server.url, query="api_key"))
    local_proxy.send(OutboundRequest("GET", "/echo", base_url_override=other_server.url), target)
    local_proxy.send(OutboundRequest("GET", other_server.url + "/echo?a=1"), target)
    assert [s.path for s in other_server.requests] == ["/echo", "/echo?a=1"]
    assert all(s.header("authorization") == [] for s in other_server.requests)


def test_allowed_origins_get_credentials(
    local_proxy: Proxy, server: Server, other_server: Server
) -> None:
    target = api_key_target(server.url, allowed_origins=[other_server.url])
    local_proxy.send(OutboundRequest("GET", other_server.url + "/echo"), fixed(target))
    assert other_server.requests[0].header("authorization") == [f"Bearer {API_KEY}"]


def test_loopback_is_refused_by_default(server: Server, clock: FakeClock) -> None:
    with httpx.Client() as client:
        proxy = Proxy(client, clock, EgressPolicy())
        with pytest.raises(RunFailure) as caught:
            proxy.send(OutboundRequest("GET", "/echo"), fixed(api_key_target(server.url)))
    assert caught.value.payload["code"] == "EGRESS_DENIED"
    assert server.requests == []


# ---- scripted failures -----------------------------------------------------------------------

Outcome = httpx.Response | Exception


class Script:
    """A MockTransport handler that answers from a list and records the requests."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def scripted(clock: FakeClock) -> Iterator[Callable[..., tuple[Proxy, Script]]]:
    clients: list[httpx.Client] = []

    def make(*outcomes: Outcome, egress: EgressPolicy = PUBLIC) -> tuple[Proxy, Script]:
        script = Script(*outcomes)
        clients.append(httpx.Client(transport=httpx.MockTransport(script)))
        return Proxy(clients[-1], clock, egress), script

    yield make
    for client in clients:
        client.close()


API = "https://api.example.com"
NONE_TARGET = fixed(ProxyTarget(API, "NONE", {}, {}))
Make = Callable[..., tuple[Proxy, Script]]


def refused() -> Exception:
    return httpx.ConnectError("[Errno 111] Connection refused")


def test_connection_refused_is_retried_with_backoff(scripted: Make, clock: FakeClock) -> None:
    proxy, script = scripted(refused())
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x", retries=4), NONE_TARGET)
    assert caught.value.code == "script_network_error"
    assert caught.value.payload == {"code": "ECONNREFUSED", "url": f"{API}/x", "attempts": 5}
    assert len(script.requests) == 5
    assert clock.sleeps == [3, 6, 12, 24]


def test_backoff_is_capped_at_ten_minutes(scripted: Make, clock: FakeClock) -> None:
    proxy, _ = scripted(refused())
    with pytest.raises(RunFailure):
        proxy.send(OutboundRequest("GET", "/x", retries=10), NONE_TARGET)
    assert clock.sleeps == [3, 6, 12, 24, 48, 96, 192, 384, 600, 600]


def test_no_retries_by_default(scripted: Make, clock: FakeClock) -> None:
    proxy, script = scripted(refused())
    with pytest.raises(RunFailure):
        proxy.send(OutboundRequest("GET", "/x"), NONE_TARGET)
    assert len(script.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ReadTimeout("timed out"), "ETIMEDOUT"),
        (httpx.RemoteProtocolError("Server disconnected"), "ECONNRESET"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "EAI_AGAIN"),
    ],
)
def test_transient_network_errors_are_retried(scripted: Make, exc: Exception, code: str) -> None:
    proxy, _ = scripted(exc, httpx.Response(200, content=b"ok"))
    result = proxy.send(OutboundRequest("GET", "/x", retries=1), NONE_TARGET)
    assert (result.status, result.body, result.attempts) == (200, b"ok", 2)


def test_permanent_network_errors_are_not_retried(scripted: Make) -> None:
    proxy, script = scripted(httpx.ConnectError("[Errno -2] Name or service not known"))
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x", retries=3), NONE_TARGET)
    assert caught.value.payload["code"] == "ENOTFOUND"
    assert len(script.requests) == 1


def test_5xx_retried_then_returned(scripted: Make, clock: FakeClock) -> None:
    proxy, _ = scripted(httpx.Response(500))
    result = proxy.send(OutboundRequest("GET", "/x", retries=2), NONE_TARGET)
    assert (result.status, result.attempts) == (500, 3)
    assert clock.sleeps == [3, 6]


def test_4xx_not_retried(scripted: Make, clock: FakeClock) -> None:
    proxy, _ = scripted(httpx.Response(404), httpx.Response(200))
    result = proxy.send(OutboundRequest("GET", "/x", retries=2), NONE_TARGET)
    assert (result.status, result.attempts) == (404, 1)
    assert clock.sleeps == []


def test_retry_on_adds_a_status(scripted: Make, clock: FakeClock) -> None:
    proxy, _ = scripted(httpx.Response(409), httpx.Response(409), httpx.Response(200))
    result = proxy.send(OutboundRequest("GET", "/x", retries=5, retry_on=(409,)), NONE_TARGET)
    assert (result.status, result.attempts) == (200, 3)
    assert clock.sleeps == [3, 6]


def test_provider_list_restricts_retries(scripted: Make) -> None:
    target = fixed(ProxyTarget(API, "NONE", {}, {}, retry_status_codes=(502,)))
    proxy, _ = scripted(httpx.Response(500))
    assert proxy.send(OutboundRequest("GET", "/x", retries=3), target).attempts == 1
    proxy, _ = scripted(httpx.Response(429))
    assert proxy.send(OutboundRequest("GET", "/x", retries=3), target).attempts == 1
    proxy, _ = scripted(httpx.Response(502), httpx.Response(200))
    assert proxy.send(OutboundRequest("GET", "/x", retries=3), target).attempts == 2


def oauth_target(token: str) -> ProxyTarget:
    return ProxyTarget(API, "OAUTH2", {}, {"type": "OAUTH2", "access_token": token})


def test_401_with_unchanged_credentials_stops(scripted: Make, clock: FakeClock) -> None:
    proxy, _ = scripted(httpx.Response(401))
    reads: list[int] = []

    def source() -> ProxyTarget:
        reads.append(1)
        return oauth_target(TOKEN)

    result = proxy.send(OutboundRequest("GET", "/x", retries=5), source)
    assert (result.status, result.attempts) == (401, 1)
    assert len(reads) == 2
    assert clock.sleeps == []


def test_401_with_changed_credentials_retries_with_them(scripted: Make, clock: FakeClock) -> None:
    proxy, script = scripted(httpx.Response(401), httpx.Response(200))
    tokens = iter(["old-token-1", "new-token-2"])
    result = proxy.send(OutboundRequest("GET", "/x", retries=3), lambda: oauth_target(next(tokens)))
    assert (result.status, result.attempts) == (200, 2)
    assert [r.headers["authorization"] for r in script.requests] == [
        "Bearer old-token-1",
        "Bearer new-token-2",
    ]
    assert clock.sleeps == [3]


def test_retry_after_seconds_and_date(scripted: Make, clock: FakeClock) -> None:
    when = format_datetime(clock.now() + timedelta(seconds=7 + 30), usegmt=True)
    proxy, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"Retry-After": when}),
        httpx.Response(200),
    )
    result = proxy.send(OutboundRequest("GET", "/x", retries=3), NONE_TARGET)
    assert result.status == 200
    assert clock.sleeps == [7, 30]


def test_rate_limit_reset_header(scripted: Make, clock: FakeClock) -> None:
    reset = str(int(clock.now().timestamp()) + 45)
    proxy, _ = scripted(
        httpx.Response(429, headers={"x-ratelimit-reset": reset}),
        httpx.Response(429, headers={"x-rate-limit-reset": "2"}),
        httpx.Response(429, headers={"Retry-After": "99999"}),
        httpx.Response(200),
    )
    proxy.send(OutboundRequest("GET", "/x", retries=3), NONE_TARGET)
    assert clock.sleeps == [45, 2, 600]


def test_githubs_spent_rate_limit_403_waits_for_the_reset(scripted: Make, clock: FakeClock) -> None:
    reset = str(int(clock.now().timestamp()) + 120)
    spent = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    proxy, _ = scripted(httpx.Response(403, headers=spent), httpx.Response(200))
    result = proxy.send(OutboundRequest("GET", "/x", retries=1), NONE_TARGET)
    assert (result.status, result.attempts) == (200, 2)
    assert clock.sleeps == [120]


def test_a_plain_403_is_not_retried(scripted: Make, clock: FakeClock) -> None:
    proxy, _ = scripted(httpx.Response(403, headers={"x-ratelimit-remaining": "7"}))
    result = proxy.send(OutboundRequest("GET", "/x", retries=3), NONE_TARGET)
    assert (result.status, result.attempts) == (403, 1)


def test_a_rate_limit_wait_past_the_deadline_is_not_begun(scripted: Make, clock: FakeClock) -> None:
    reset = str(int(clock.now().timestamp()) + 3600)
    spent = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    proxy, _ = scripted(httpx.Response(403, headers=spent))
    deadline = clock.now() + timedelta(minutes=5)
    result = proxy.send(OutboundRequest("GET", "/x", retries=3, deadline=deadline), NONE_TARGET)
    assert (result.status, result.attempts) == (403, 1)
    assert clock.sleeps == []


def test_secrets_never_appear_in_network_errors(scripted: Make) -> None:
    target = ProxyTarget(API, "API_KEY", {"query": "key"}, {"type": "API_KEY", "api_key": API_KEY})
    leak = httpx.ConnectError(f"[Errno 111] Connection refused for ...?key={API_KEY}")
    proxy, script = scripted(leak)
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x?a=1"), fixed(target))
    assert script.requests[0].url.params["key"] == API_KEY
    text = caught.value.message + json.dumps(caught.value.to_dict())
    assert API_KEY not in text
    assert caught.value.payload["url"] == f"{API}/x?a=1&key=***"


def test_basic_secrets_never_appear_in_results_or_errors(scripted: Make) -> None:
    creds = {"type": "BASIC", "username": "ann", "password": "hunter2-secret"}
    target = fixed(ProxyTarget(API, "BASIC", {}, creds))
    blob = base64.b64encode(b"ann:hunter2-secret").decode()
    proxy, _ = scripted(httpx.ConnectError(f"refused; auth was {blob} / hunter2-secret"))
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x", params={"echo": "hunter2-secret"}), target)
    text = json.dumps(caught.value.to_dict())
    assert "hunter2-secret" not in text
    assert blob not in text


def test_metadata_address_refused_without_sending(scripted: Make) -> None:
    proxy, script = scripted(httpx.Response(200))
    for endpoint in ("http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"):
        with pytest.raises(RunFailure) as caught:
            proxy.send(OutboundRequest("GET", endpoint, retries=3), NONE_TARGET)
        assert caught.value.payload["code"] == "EGRESS_DENIED"
        assert caught.value.retryable is False
    assert script.requests == []


def test_redirect_to_an_internal_address_is_refused(scripted: Make) -> None:
    redirect = httpx.Response(302, headers={"Location": "http://10.0.0.1/admin"})
    proxy, script = scripted(redirect)
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x"), NONE_TARGET)
    assert caught.value.payload["code"] == "EGRESS_DENIED"
    assert len(script.requests) == 1


def test_too_many_redirects(scripted: Make) -> None:
    proxy, script = scripted(httpx.Response(302, headers={"Location": "/again"}))
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x", retries=2), NONE_TARGET)
    assert caught.value.payload["code"] == "ERR_FR_TOO_MANY_REDIRECTS"
    assert len(script.requests) == 22


@pytest.mark.parametrize(
    "request_",
    [
        OutboundRequest("TRACE", "/x"),
        OutboundRequest("GET", "/x", headers=(("X-Bad", "a\r\nInjected: 1"),)),
        OutboundRequest("GET", "/x", headers=(("Bad Name", "v"),)),
        OutboundRequest("GET", "https://user:pw@api.example.com/x"),
        OutboundRequest("GET", "/x", params={"nested": {"a": 1}}),
    ],
)
def test_malformed_requests_are_invalid(scripted: Make, request_: OutboundRequest) -> None:
    proxy, script = scripted(httpx.Response(200))
    with pytest.raises(InvalidRequest):
        proxy.send(request_, NONE_TARGET)
    assert script.requests == []


def test_no_base_url(scripted: Make) -> None:
    proxy, _ = scripted(httpx.Response(200))
    with pytest.raises(InvalidRequest, match="base URL"):
        proxy.send(OutboundRequest("GET", "/x"), fixed(ProxyTarget("", "NONE", {}, {})))


def test_endpoint_cannot_change_the_host(scripted: Make) -> None:
    proxy, script = scripted(httpx.Response(200))
    result: ProxyResult = proxy.send(OutboundRequest("GET", "//evil.example.com/x"), NONE_TARGET)
    assert script.requests[0].url.host == "api.example.com"
    assert result.url == f"{API}/evil.example.com/x"


def test_hop_by_hop_headers_are_dropped(scripted: Make) -> None:
    response = httpx.Response(200, headers={"Connection": "close", "X-Ok": "1"})
    proxy, script = scripted(response)
    given = (("Connection", "Upgrade"), ("Host", "evil.example.com"), ("X-Mine", "1"))
    result = proxy.send(OutboundRequest("GET", "/x", headers=given), NONE_TARGET)
    sent: Sequence[tuple[str, str]] = script.requests[0].headers.multi_items()
    assert ("x-mine", "1") in sent
    assert ("host", "api.example.com") in sent
    assert all(name != "connection" or value != "Upgrade" for name, value in sent)
    assert ("x-ok", "1") in result.headers
    assert all(name != "connection" for name, _ in result.headers)


def test_no_wait_begins_past_the_deadline(scripted: Make, clock: FakeClock) -> None:
    proxy, _ = scripted(httpx.Response(503))
    deadline = clock.now() + timedelta(seconds=10)
    result = proxy.send(OutboundRequest("GET", "/x", retries=5, deadline=deadline), NONE_TARGET)
    assert (result.status, result.attempts) == (503, 3)
    assert clock.sleeps == [3, 6]  # the next wait, 12 s, would end after the deadline


def test_a_passed_deadline_sends_nothing(scripted: Make, clock: FakeClock) -> None:
    proxy, script = scripted(httpx.Response(200))
    request = OutboundRequest("GET", "/x", deadline=clock.now() - timedelta(seconds=1))
    with pytest.raises(RunFailure) as caught:
        proxy.send(request, NONE_TARGET)
    assert caught.value.payload["code"] == "ETIMEDOUT"
    assert script.requests == []


def test_a_corrupt_body_is_a_network_error_not_retried(scripted: Make) -> None:
    corrupt = httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
    )
    proxy, script = scripted(corrupt)
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x", retries=3), NONE_TARGET)
    assert caught.value.payload["code"] == "Z_DATA_ERROR"
    assert len(script.requests) == 1


def test_head_of_a_large_resource_is_fine(clock: FakeClock) -> None:
    head = httpx.Response(200, headers={"Content-Length": str(10**12)})
    with httpx.Client(transport=httpx.MockTransport(lambda request: head)) as client:
        proxy = Proxy(client, clock, PUBLIC, max_response_bytes=100)
        result = proxy.send(OutboundRequest("HEAD", "/x"), NONE_TARGET)
    assert (result.status, result.body) == (200, b"")


def test_a_body_growing_past_the_cap_is_refused_while_streaming(clock: FakeClock) -> None:
    def chunks() -> Iterator[bytes]:
        yield from (b"x" * 64 for _ in range(100))

    stream = httpx.Response(200, content=chunks())
    with httpx.Client(transport=httpx.MockTransport(lambda request: stream)) as client:
        proxy = Proxy(client, clock, PUBLIC, max_response_bytes=1000)
        with pytest.raises(RunFailure) as caught:
            proxy.send(OutboundRequest("GET", "/x"), NONE_TARGET)
    assert caught.value.code == "resource_exhausted"


def test_name_resolution_failure_in_the_egress_check(clock: FakeClock, scripted: Make) -> None:
    def resolve(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    proxy, script = scripted(httpx.Response(200), egress=EgressPolicy(resolver=resolve))
    with pytest.raises(RunFailure) as caught:
        proxy.send(OutboundRequest("GET", "/x", retries=2), NONE_TARGET)
    assert caught.value.payload["code"] == "EAI_AGAIN"
    assert clock.sleeps == [3, 6]
    assert script.requests == []


def _streamed(chunk: int, count: int) -> httpx.MockTransport:
    def chunks() -> Iterator[bytes]:
        yield from (b"x" * chunk for _ in range(count))

    return httpx.MockTransport(lambda request: httpx.Response(200, content=chunks()))


def test_the_runs_cap_holds_when_it_is_below_the_proxys(clock: FakeClock) -> None:
    with httpx.Client(transport=_streamed(64, 100)) as client:
        proxy = Proxy(client, clock, PUBLIC, max_response_bytes=1 << 20)
        with pytest.raises(RunFailure) as caught:
            proxy.send(OutboundRequest("GET", "/x", max_response_bytes=1000), NONE_TARGET)
    assert caught.value.code == "resource_exhausted"
    assert caught.value.payload["limit"] == 1000
    assert "larger than 1000 bytes" in caught.value.message


def test_the_proxys_cap_holds_when_the_run_asks_more(clock: FakeClock) -> None:
    with httpx.Client(transport=_streamed(64, 100)) as client:
        proxy = Proxy(client, clock, PUBLIC, max_response_bytes=1000)
        with pytest.raises(RunFailure) as caught:
            proxy.send(OutboundRequest("GET", "/x", max_response_bytes=1 << 20), NONE_TARGET)
    assert caught.value.payload["limit"] == 1000


def test_a_body_exactly_at_the_runs_cap_is_whole(clock: FakeClock) -> None:
    with httpx.Client(transport=_streamed(100, 10)) as client:
        proxy = Proxy(client, clock, PUBLIC, max_response_bytes=1 << 20)
        result = proxy.send(OutboundRequest("GET", "/x", max_response_bytes=1000), NONE_TARGET)
    assert result.body == b"x" * 1000


def test_the_runs_cap_holds_after_a_redirect(clock: FakeClock) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/first":
            return httpx.Response(302, headers={"location": "/second"})
        return httpx.Response(200, content=b"y" * 2000)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        proxy = Proxy(client, clock, PUBLIC, max_response_bytes=1 << 20)
        with pytest.raises(RunFailure) as caught:
            proxy.send(OutboundRequest("GET", "/first", max_response_bytes=1000), NONE_TARGET)
    assert caught.value.payload["limit"] == 1000
