"""The egress policy: which destinations the proxy may reach, checked and pinned."""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterator, Sequence

import httpx
import pytest

from orchestrator.proxy._egress import (
    EgressDenied,
    EgressPolicy,
    address_problem,
    pinned_transport,
)


def resolver(table: dict[str, list[str]]) -> EgressPolicy:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return EgressPolicy(resolver=resolve)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.0.1",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "224.0.0.1",
        "239.255.255.250",
        "100.64.0.1",
        "::1",
        "::",
        "fd00::1",
        "fc00::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_internal_addresses_have_a_problem(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888"])
def test_public_addresses_are_fine(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == ""


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://10.0.0.5/",
    ],
)
def test_refused_by_default(url: str) -> None:
    policy = EgressPolicy(resolver=lambda host, port: ["127.0.0.1"])
    with pytest.raises(EgressDenied):
        policy.check_url(url)


def test_allow_private_allows_loopback() -> None:
    EgressPolicy(allow_private=True).check_url("http://127.0.0.1:8080/")


def test_host_lists_are_normalised() -> None:
    policy = EgressPolicy(allowed_hosts=frozenset({"API.Example.com."}))
    assert policy.allowed_hosts == {"api.example.com"}
    with pytest.raises(EgressDenied, match="denied"):
        EgressPolicy(denied_hosts=frozenset({"Evil.Example"})).check_url("http://evil.example./")


def test_allowed_hosts_skip_the_address_check() -> None:
    policy = resolver({"svc.internal": ["10.0.0.7"]})
    with pytest.raises(EgressDenied):
        policy.check_url("http://svc.internal/")
    policy.with_allowed_hosts("SVC.internal").check_url("http://svc.internal/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(EgressDenied, match="scheme"):
        EgressPolicy(allow_private=True).check_url(url)


def test_denied_hosts_win_even_with_allow_private() -> None:
    policy = EgressPolicy(allow_private=True).with_denied_hosts("metadata.google.internal", ".corp")
    with pytest.raises(EgressDenied, match="denied"):
        policy.check_url("http://metadata.google.internal/")
    with pytest.raises(EgressDenied, match="denied"):
        policy.check_url("http://db.corp/")
    policy.check_url("http://corp.example.com/")


def test_a_name_with_one_internal_address_is_refused() -> None:
    policy = resolver({"mixed.example": ["93.184.216.34", "10.0.0.1"]})
    with pytest.raises(EgressDenied, match="private"):
        policy.check_url("https://mixed.example/")


def test_public_names_pass_and_unknown_names_do_not_resolve() -> None:
    policy = resolver({"api.example.com": ["93.184.216.34"]})
    policy.check_url("https://api.example.com/x")
    with pytest.raises(socket.gaierror):
        policy.check_url("https://nowhere.example/")


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def local_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_pinned_transport_refuses_loopback_at_connect_time(local_url: str) -> None:
    with (
        httpx.Client(transport=pinned_transport(EgressPolicy())) as client,
        pytest.raises(EgressDenied),
    ):
        client.get(local_url)


def test_pinned_transport_allows_loopback_when_asked(local_url: str) -> None:
    with httpx.Client(transport=pinned_transport(EgressPolicy(allow_private=True))) as client:
        assert client.get(local_url).text == "hello"


def test_pinned_transport_connects_to_the_checked_address(local_url: str) -> None:
    port = httpx.URL(local_url).port
    policy = resolver({"app.test": ["127.0.0.1"]}).with_allowed_hosts("app.test")
    with httpx.Client(transport=pinned_transport(policy)) as client:
        response = client.get(f"http://app.test:{port}/")
    assert response.text == "hello"


def test_dns_rebinding_is_caught_at_connect_time(local_url: str) -> None:
    port = httpx.URL(local_url).port
    answers = [["93.184.216.34"], ["127.0.0.1"]]

    def rebinding(host: str, port: int) -> Sequence[str]:
        return answers.pop(0)

    policy = EgressPolicy(resolver=rebinding)
    policy.check_url(f"http://rebind.test:{port}/")  # the early check sees a public address
    with (
        httpx.Client(transport=pinned_transport(policy)) as client,
        pytest.raises(EgressDenied, match="loopback"),
    ):
        client.get(f"http://rebind.test:{port}/")


def test_pinned_transport_still_replaces_httpx_pool() -> None:
    transport = pinned_transport(EgressPolicy())
    assert type(transport._pool).__name__ == "ConnectionPool"
    assert type(transport._pool._network_backend).__name__ == "_PinnedBackend"
    transport.close()
