"""HTTP through the whole path: every request option, the response object, typed errors,
credentials injected (and kept out of stored errors), OAuth2 refresh, retries, pagination."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from corral.cli import Client
from corral.errors import RunFailure
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.fake_api import FakeApi, Seen
from tests.support.service import Service, corral

REQUEST = """
import base64
from nango import create_action, HttpError

def run(nango, input):
    verbs = {'get': nango.get, 'post': nango.post, 'put': nango.put, 'patch': nango.patch,
             'delete': nango.delete, 'proxy': nango.proxy}
    config = dict(input['config'])
    if 'data_b64' in config:
        config['data'] = base64.b64decode(config.pop('data_b64'))
    try:
        r = verbs[input.get('verb') or 'get'](config)
    except HttpError as e:
        if not input.get('catch'):
            raise
        out = {'caught': e.response.status, 'data': e.response.data}
        if input.get('compare_credential'):
            key = nango.get_connection()['credentials']['api_key']
            out['function_saw_the_real_value'] = e.response.data['authorization'] == 'Bearer ' + key
            out['data'] = None
        return out
    data = r.data
    if isinstance(data, bytes):
        data = {'bytes': base64.b64encode(data).decode()}
    return {'status': r.status, 'data': data, 'headers': dict(r.headers),
            'config_endpoint': r.config['endpoint'], 'request': dict(r.request)}

action = create_action(description='one request', exec=run)
"""

PAGES = """
from nango import create_action

def run(nango, input):
    return [page for page in nango.paginate(input)]

action = create_action(description='pages', exec=run)
"""

CONNECTION = """
from nango import create_action

def run(nango, input):
    return nango.get_connection(**input)

action = create_action(description='connection', exec=run)
"""

FILES = {"req.py": REQUEST, "pages.py": PAGES, "conn.py": CONNECTION}


def _echo(seen: Seen) -> tuple[int, Any, dict[str, str]]:
    body: Any = seen.body.decode(errors="replace")
    return (
        200,
        {"method": seen.method, "path": seen.path, "headers": seen.headers, "body": body},
        {"x-echo": "yes"},
    )


@pytest.fixture(scope="module")
def web(service: Service, fake_api: FakeApi) -> Iterator[Client]:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        for path in ("/echo", "/v1/echo"):
            fake_api.routes[(method, path)] = _echo
    with Client(service.address, service.secret_key, timeout=60) as client:
        h.setup(client, "web", FILES, fake_api.url + "/v1")
        yield client


def _req(client: Client, config: dict[str, Any], integration: str = "", **options: Any) -> Any:
    return h.action(client, "req", {"config": config, **options}, connection=integration or "c1")


def test_every_request_option_reaches_the_api(web: Client, fake_api: FakeApi) -> None:
    out = _req(
        web,
        {
            "endpoint": "/echo",
            "headers": {"X-Custom": "1"},
            "params": {"a": 1, "b": "x y", "skip": None},
            "data": {"k": [1, 2]},
            "retries": 2,
            "retry_on": [409],
            "decompress": True,
        },
        verb="post",
    )
    seen = out["data"]
    assert out["status"] == 200
    assert seen["method"] == "POST"
    assert seen["path"] == "/v1/echo?a=1&b=x%20y"
    assert seen["headers"]["x-custom"] == "1"
    assert seen["headers"]["content-type"] == "application/json"
    assert json.loads(seen["body"]) == {"k": [1, 2]}
    assert out["headers"]["x-echo"] == "yes"
    assert out["config_endpoint"] == "/echo"
    assert out["request"] == {"method": "POST", "url": fake_api.url + "/v1/echo?a=1&b=x%20y"}


@pytest.mark.parametrize(
    ("verb", "config", "method", "body"),
    [
        ("put", {"data": "plain text"}, "PUT", "plain text"),
        ("patch", {"data_b64": base64.b64encode(b"\x00raw").decode()}, "PATCH", "\x00raw"),
        ("delete", {}, "DELETE", ""),
        ("get", {}, "GET", ""),
        ("proxy", {"method": "PATCH", "data": {"n": 1}}, "PATCH", '{"n":1}'),
        ("proxy", {}, "GET", ""),
    ],
)
def test_each_verb_and_body_kind(
    web: Client, verb: str, config: dict[str, Any], method: str, body: str
) -> None:
    seen = _req(web, {"endpoint": "/echo", **config}, verb=verb)["data"]
    assert (seen["method"], seen["body"]) == (method, body)


def test_base_url_override_and_response_types(web: Client, fake_api: FakeApi) -> None:
    seen = _req(web, {"endpoint": "/echo", "base_url_override": fake_api.url})["data"]
    assert seen["path"] == "/echo"
    text = _req(web, {"endpoint": "/echo", "response_type": "text"})["data"]
    assert isinstance(text, str)
    assert json.loads(text)["path"] == "/v1/echo"
    raw = _req(web, {"endpoint": "/echo", "response_type": "arraybuffer"})["data"]
    assert json.loads(base64.b64decode(raw["bytes"]))["method"] == "GET"


def test_a_function_can_catch_a_non_2xx_and_read_the_response(
    web: Client, fake_api: FakeApi
) -> None:
    fake_api.route("GET", "/v1/missing", status=404, body={"message": "no such thing"})
    out = _req(web, {"endpoint": "/missing"}, catch=True)
    assert out == {"caught": 404, "data": {"message": "no such thing"}}


def test_an_uncaught_non_2xx_is_script_http_error_with_status_headers_and_body(
    web: Client, fake_api: FakeApi
) -> None:
    fake_api.route(
        "GET", "/v1/teapot", status=418, body={"why": "short and stout"}, headers={"x-t": "1"}
    )
    with pytest.raises(RunFailure) as caught:
        _req(web, {"endpoint": "/teapot"})
    error = caught.value
    assert error.code == "script_http_error"
    assert error.payload["status"] == 418
    assert error.payload["headers"]["x-t"] == "1"
    assert error.payload["data"] == {"why": "short and stout"}
    assert error.payload["url"].endswith("/v1/teapot")


def test_a_network_failure_is_script_network_error(web: Client) -> None:
    with pytest.raises(RunFailure) as caught:
        _req(web, {"endpoint": "/x", "base_url_override": "http://127.0.0.1:1"})
    assert caught.value.code == "script_network_error"
    assert caught.value.payload["code"] == "ECONNREFUSED"


def _auth(
    client: Client,
    api: FakeApi,
    key: str,
    mode: str,
    credentials: dict[str, Any],
    *,
    auth_config: dict[str, Any] | None = None,
) -> None:
    h.setup(
        client,
        key,
        FILES,
        api.url + "/v1",
        connection=key,
        credentials={"type": mode, **credentials},
        auth_mode=mode,
        auth_config=auth_config,
    )


@pytest.mark.parametrize(
    ("mode", "credentials", "expected"),
    [
        (
            "BASIC",
            {"username": "ann", "password": "pw"},
            "Basic " + base64.b64encode(b"ann:pw").decode(),
        ),
        ("BEARER", {"token": "tok-123"}, "Bearer tok-123"),
        ("API_KEY", {"api_key": "key-456"}, "Bearer key-456"),
    ],
)
def test_credentials_are_injected_by_the_orchestrator(
    web: Client, fake_api: FakeApi, mode: str, credentials: dict[str, Any], expected: str
) -> None:
    key = f"auth-{mode.lower()}"
    _auth(web, fake_api, key, mode, credentials)
    seen = _req(web, {"endpoint": "/echo"}, integration=key)["data"]
    assert seen["headers"]["authorization"] == expected


def test_an_echoed_credential_never_reaches_stored_errors_or_logs(
    web: Client, fake_api: FakeApi, service: Service
) -> None:
    def echo_denied(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        return 403, {"authorization": seen.headers.get("authorization", "")}, {}

    fake_api.routes[("GET", "/v1/denied")] = echo_denied
    secret = "sk-live-0123456789abcdef"
    _auth(web, fake_api, "vault", "API_KEY", {"api_key": secret})
    out = _req(
        web, {"endpoint": "/denied"}, integration="vault", catch=True, compare_credential=True
    )
    assert out["function_saw_the_real_value"] is True
    with pytest.raises(RunFailure) as caught:
        _req(web, {"endpoint": "/denied"}, integration="vault")
    assert caught.value.payload["data"] == {"authorization": "***"}
    run_id = caught.value.details["run_id"]
    stored = web.call("GetRun", pb.GetRunRequest(run_id=run_id))
    assert secret not in str(stored)
    shown = corral(service, "logs", run_id)
    assert shown.returncode == 0, shown.stderr
    assert secret not in shown.stdout
    assert "***" in shown.stdout


class TokenEndpoint:
    """An OAuth2 token endpoint that hands out numbered access tokens."""

    def __init__(self) -> None:
        self.refreshes: list[dict[str, list[str]]] = []

    def __call__(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        form = urllib.parse.parse_qs(seen.body.decode())
        self.refreshes.append(form)
        n = len(self.refreshes)
        body = {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600}
        return 200, body, {}


def test_oauth2_tokens_are_refreshed_when_they_expire_within_15_minutes(
    web: Client, fake_api: FakeApi
) -> None:
    tokens = TokenEndpoint()
    fake_api.routes[("POST", "/oauth/token")] = tokens
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    _auth(
        web,
        fake_api,
        "oauth",
        "OAUTH2",
        {"access_token": "access-0", "refresh_token": "refresh-0", "expires_at": soon},
        auth_config={
            "token_url": fake_api.url + "/oauth/token",
            "client_id": "cid",
            "client_secret": "cs",
        },
    )
    seen = _req(web, {"endpoint": "/echo"}, integration="oauth")["data"]
    assert seen["headers"]["authorization"] == "Bearer access-1"
    assert tokens.refreshes[0]["refresh_token"] == ["refresh-0"]
    assert tokens.refreshes[0]["client_id"] == ["cid"]
    plain = h.action(web, "conn", {}, connection="oauth")
    assert plain["credentials"]["access_token"] == "access-1"
    assert "refresh_token" not in plain["credentials"]
    assert len(tokens.refreshes) == 1  # an hour left: no refresh
    with_refresh = h.action(web, "conn", {"refresh_token": True}, connection="oauth")
    assert with_refresh["credentials"]["refresh_token"] == "refresh-1"
    forced = h.action(web, "conn", {"force_refresh": True}, connection="oauth")
    assert forced["credentials"]["access_token"] == "access-2"
    assert tokens.refreshes[1]["refresh_token"] == ["refresh-1"]
    assert forced["connection_id"] == "oauth"
    assert forced["provider_config_key"] == "oauth"


def _flaky(statuses: list[int]) -> Any:
    calls: list[int] = []

    def answer(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        status = statuses[min(len(calls), len(statuses) - 1)]
        calls.append(status)
        return status, {"attempt": len(calls)}, {"retry-after": "0"}

    return answer, calls


def test_retries_reach_the_proxy(web: Client, fake_api: FakeApi) -> None:
    answer, calls = _flaky([503, 200])
    fake_api.routes[("GET", "/v1/flaky")] = answer
    assert _req(web, {"endpoint": "/flaky", "retries": 1})["data"] == {"attempt": 2}
    answer, calls = _flaky([503, 200])
    fake_api.routes[("GET", "/v1/flaky")] = answer
    with pytest.raises(RunFailure) as caught:
        _req(web, {"endpoint": "/flaky"})
    assert caught.value.payload["status"] == 503
    assert calls == [503]


def test_retry_on_adds_statuses_to_the_providers_own_list(web: Client, fake_api: FakeApi) -> None:
    h.setup(
        web,
        "picky",
        FILES,
        fake_api.url + "/v1",
        connection="picky",
        auth_config={"retry_status_codes": [503]},
    )
    answer, calls = _flaky([429, 200])
    fake_api.routes[("GET", "/v1/limited")] = answer
    with pytest.raises(RunFailure):
        _req(web, {"endpoint": "/limited", "retries": 3}, integration="picky")
    assert calls == [429]  # the provider retries 503 only
    answer, calls = _flaky([429, 429, 200])
    fake_api.routes[("GET", "/v1/limited")] = answer
    out = _req(web, {"endpoint": "/limited", "retries": 3, "retry_on": [429]}, integration="picky")
    assert out["data"] == {"attempt": 3}


def test_cursor_link_and_offset_pagination(web: Client, fake_api: FakeApi) -> None:
    def cursor(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query)
        after = int(query.get("after", ["0"])[0])
        items = list(range(after, min(after + 2, 5)))
        return 200, {"data": {"items": items}, "next": str(after + 2) if items else ""}, {}

    def offset(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query)
        start = int(query["offset"][0])
        return 200, list(range(start, min(start + int(query["limit"][0]), 5))), {}

    def link(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        page = int(urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query)["page"][0])
        headers = (
            {"link": f'<{fake_api.url}/v1/link?page={page + 1}>; rel="next"'} if page < 3 else {}
        )
        return 200, [page], headers

    fake_api.routes[("GET", "/v1/cursor")] = cursor
    fake_api.routes[("GET", "/v1/offset")] = offset
    fake_api.routes[("GET", "/v1/link")] = link
    cursor_pages = h.action(
        web,
        "pages",
        {
            "endpoint": "/cursor",
            "paginate": {
                "type": "cursor",
                "cursor_name_in_request": "after",
                "cursor_path_in_response": "next",
                "response_path": "data.items",
            },
        },
    )
    assert cursor_pages == [[0, 1], [2, 3], [4]]
    offset_pages = h.action(
        web,
        "pages",
        {
            "endpoint": "/offset",
            "paginate": {
                "type": "offset",
                "offset_name_in_request": "offset",
                "limit_name_in_request": "limit",
                "limit": 2,
            },
        },
    )
    assert offset_pages == [[0, 1], [2, 3], [4]]
    link_pages = h.action(
        web,
        "pages",
        {
            "endpoint": "/link",
            "params": {"page": 1},
            "paginate": {"type": "link", "link_rel_in_response_header": "next"},
        },
    )
    assert link_pages == [[1], [2], [3]]


def test_the_providers_pagination_defaults_apply(web: Client, fake_api: FakeApi) -> None:
    def repos(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query)
        page = int(query.get("page", ["1"])[0])
        nxt = f'<{fake_api.url}/user/repos?page={page + 1}&per_page=2>; rel="next"'
        return (
            200,
            [{"page": page, "per_page": query["per_page"][0]}],
            {"link": nxt} if page < 2 else {},
        )

    fake_api.routes[("GET", "/user/repos")] = repos
    h.setup(web, "gh", FILES, fake_api.url, connection="gh", provider="github", auth_mode="NONE")
    pages = h.action(
        web, "pages", {"endpoint": "/user/repos", "paginate": {"limit": 2}}, connection="gh"
    )
    assert pages == [[{"page": 1, "per_page": "2"}], [{"page": 2, "per_page": "2"}]]
