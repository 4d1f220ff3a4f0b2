"""IPv6 addresses that carry an IPv4 address, and IPv6 ranges that are never public, are
refused as the IPv4 address they reach would be: as literals, as a name's addresses, and at
connect time through the pinned transport."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import httpx
import pytest

from orchestrator.proxy._egress import (
    EgressDenied,
    EgressPolicy,
    address_problem,
    embedded_ipv4,
    pinned_transport,
)

EMBEDDING_INTERNAL = {
    "::ffff:169.254.169.254": "169.254.169.254",  # IPv4-mapped
    "::ffff:7f00:1": "127.0.0.1",
    "64:ff9b::a9fe:a9fe": "169.254.169.254",  # NAT64
    "64:ff9b::7f00:1": "127.0.0.1",
    "64:ff9b::a00:1": "10.0.0.1",
    "2002:a9fe:a9fe::1": "169.254.169.254",  # 6to4
    "2002:7f00:1::": "127.0.0.1",
    "2002:c0a8:101::1": "192.168.1.1",
    "::a9fe:a9fe": "169.254.169.254",  # IPv4-compatible
    "::7f00:1": "127.0.0.1",
    "::ffff:0:a9fe:a9fe": "169.254.169.254",  # SIIT
    "::ffff:0:7f00:1": "127.0.0.1",
    # Teredo: server 65.54.227.120 (public), client 169.254.169.254 (its bits inverted)
    "2001:0:4136:e378:8000:63bf:5601:5601": "169.254.169.254",
    # Teredo: server 127.0.0.1, client 65.54.227.120
    "2001:0:7f00:1:8000:63bf:bec9:1c87": "127.0.0.1",
}
"""IPv6 addresses and the internal IPv4 address each carries."""

NOT_GLOBAL = [
    "64:ff9b:1::a00:1",  # local-use NAT64
    "64:ff9b:1::101:101",
    "fec0::1",  # site-local (deprecated)
    "fec0:0:0:1::a9fe",
    "feff:ffff::1",
    "100::1",  # discard-only
    "2001:db8::1",  # documentation
    "3fff::1",
    "5f00::1",  # segment routing
    "2001:2::1",  # benchmarking
    "::101:101",  # IPv4-compatible, even of a public address (deprecated)
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo of public addresses
]
"""IPv6 addresses in ranges that are not globally reachable."""

REFUSED = [*EMBEDDING_INTERNAL, *NOT_GLOBAL]

PUBLIC = [
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001:830::200e",
    "::ffff:1.1.1.1",  # IPv4-mapped of a public address
    "64:ff9b::101:101",  # NAT64 of a public address (what DNS64 answers on IPv6-only hosts)
    "2002:101:101::1",  # 6to4 of a public address
]


def _resolving(*addresses: str, allow_private: bool = False) -> EgressPolicy:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host != "api.example.com":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(addresses)

    return EgressPolicy(allow_private=allow_private, resolver=resolve)


@pytest.mark.parametrize(("address", "carried"), EMBEDDING_INTERNAL.items())
def test_the_ipv4_address_an_ipv6_address_carries_is_read(address: str, carried: str) -> None:
    assert ipaddress.IPv4Address(carried) in embedded_ipv4(ipaddress.IPv6Address(address))


@pytest.mark.parametrize(("address", "carried"), EMBEDDING_INTERNAL.items())
def test_an_address_carrying_an_internal_ipv4_address_is_refused_for_it(
    address: str, carried: str
) -> None:
    assert carried in address_problem(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", NOT_GLOBAL)
def test_ipv6_ranges_that_are_not_global_have_a_problem(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", REFUSED)
def test_a_literal_url_is_refused(address: str) -> None:
    policy = _resolving()  # a literal is never looked up
    with pytest.raises(EgressDenied) as refused:
        policy.check_url(f"https://[{address}]:8443/latest/meta-data/")
    assert ipaddress.ip_address(refused.value.address) == ipaddress.ip_address(address)


@pytest.mark.parametrize("address", REFUSED)
def test_a_name_resolving_to_it_is_refused(address: str) -> None:
    with pytest.raises(EgressDenied):
        _resolving(address).check_url("https://api.example.com/")
    with pytest.raises(EgressDenied):  # behind a public address too
        _resolving("93.184.216.34", address).check_url("https://api.example.com/")


@pytest.mark.parametrize("address", REFUSED)
def test_the_pinned_transport_refuses_it_at_connect_time(address: str) -> None:
    transport = pinned_transport(_resolving(address))
    with httpx.Client(transport=transport) as client, pytest.raises(EgressDenied):
        client.get("http://api.example.com/")
    literal = pinned_transport(_resolving())
    with httpx.Client(transport=literal) as client, pytest.raises(EgressDenied):
        client.get(f"http://[{address}]/")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_still_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == ""
    assert _resolving(address).addresses("api.example.com", 443) == [address]
    literal = f"[{address}]" if ":" in address else address
    _resolving().check_url(f"https://{literal}/")


@pytest.mark.parametrize("address", REFUSED)
def test_allow_private_still_allows_them(address: str) -> None:
    policy = _resolving(address, allow_private=True)
    policy.check_url("https://api.example.com/")
    assert policy.addresses("api.example.com", 443) == [address]
    policy.check_url(f"https://[{address}]/")
