"""Where outbound requests may go.

A function chooses its URLs (``base_url_override``, absolute endpoints, redirects), so the
orchestrator must not become a way into its own network: by default a destination whose
address is not globally routable (loopback, private, shared, link-local with the cloud
metadata address, unique-local and site-local IPv6, unspecified, reserved, documentation) or is
multicast is refused, and only ``http`` and ``https`` are spoken. An IPv6 address that carries an
IPv4 address (IPv4-mapped or -compatible, SIIT, NAT64, 6to4, Teredo) is judged by that IPv4
address too, since a translator or tunnel delivers to it: ``64:ff9b::a9fe:a9fe`` is the cloud
metadata address.

Two checks use the same :class:`EgressPolicy`:

* :meth:`EgressPolicy.check_url`, called by the proxy before each request and each redirect,
  resolves the host and refuses early with a clear error;
* :func:`pinned_transport` builds an httpx transport whose connections resolve, check and
  connect in one step, to the checked address only. This closes the DNS-rebinding gap between
  the check and the connect (a name that resolves to a public address for the check and to
  ``127.0.0.1`` for the connect). TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import httpcore
import httpx

from corral.errors import RunFailure

Resolver = Callable[[str, int], Sequence[str]]
"""Resolves ``(host, port)`` to IP address strings; raises :class:`socket.gaierror`."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NETWORK_ERROR = "script_network_error"
"""The run error of a refused destination, as of a request that could not be sent."""

ALLOWED_SCHEMES: frozenset[str] = frozenset({"http", "https"})
"""The only URL schemes the proxy speaks."""


def _low32(value: int) -> int:
    return value & 0xFFFFFFFF


def _net(text: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(text)


IPV4_EMBEDDING: tuple[tuple[ipaddress.IPv6Network, tuple[Callable[[int], int], ...]], ...] = (
    (_net("::ffff:0:0/96"), (_low32,)),  # IPv4-mapped (RFC 4291)
    (_net("::/96"), (_low32,)),  # IPv4-compatible, deprecated (RFC 4291); :: and ::1 too
    (_net("::ffff:0:0:0/96"), (_low32,)),  # SIIT, IPv4-translated (RFC 2765)
    (_net("64:ff9b::/96"), (_low32,)),  # NAT64, well-known prefix (RFC 6052)
    (_net("2002::/16"), (lambda v: (v >> 80) & 0xFFFFFFFF,)),  # 6to4 (RFC 3056)
    (  # Teredo (RFC 4380): the server, and the client (its bits inverted)
        _net("2001::/32"),
        (lambda v: (v >> 64) & 0xFFFFFFFF, lambda v: ~v & 0xFFFFFFFF),
    ),
)
"""Where IPv6 addresses carry IPv4 ones: a range, and how to read each IPv4 address in it.
A translator or tunnel delivers to the IPv4 address, so it is judged as the destination."""

UNREACHABLE_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (_net(text), why)
    for text, why in (
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64, not globally routable"),
        ("100::/64", "discard-only, not globally routable"),
        ("100:0:0:1::/64", "a dummy prefix, not globally routable"),
        ("2001::/32", "Teredo, not globally routable"),
        ("2001:2::/48", "benchmarking, not globally routable"),
        ("2001:db8::/32", "documentation, not globally routable"),
        ("3fff::/20", "documentation, not globally routable"),
        ("5f00::/16", "segment routing, not globally routable"),
        ("fc00::/7", "unique-local, private"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated), private"),
        ("ff00::/8", "multicast"),
    )
)
"""IPv6 ranges that are never a public destination (IANA's special-purpose registry, with
"globally reachable" false, and the deprecated site-local range), whatever Python knows."""


class EgressDenied(RunFailure):
    """A destination the policy refuses.

    A :class:`RunFailure` (``script_network_error``, payload code ``EGRESS_DENIED``, never
    retried), so that a refusal raised where no caller expected one (the pinned transport
    refuses at connect time, inside any request made with it) still reaches the run and the
    client typed, never as an internal error. Callers that know the request turn it into
    :meth:`failure`, which names it.

    Attributes:
        host: the host name asked for.
        address: the refused address, when the refusal came from an address.
        reason: why, in a few words.
    """

    def __init__(self, host: str, reason: str, address: str = "") -> None:
        payload = {"code": "EGRESS_DENIED", "host": host, "reason": reason}
        message = f"destination {host!r} refused: {reason}"
        super().__init__(NETWORK_ERROR, message, payload=payload, retryable=False)
        self.host = host
        self.address = address
        self.reason = reason

    def failure(self, request: str, url: str) -> RunFailure:
        """The error for ``request`` (``"GET https://..."``, secrets hidden) to ``url`` (the
        same, as shown), refused for this reason."""
        payload = {"code": "EGRESS_DENIED", "url": url, "host": self.host, "reason": self.reason}
        message = f"{request} refused: {self.reason}"
        return RunFailure(NETWORK_ERROR, message, payload=payload, retryable=False)


def system_resolver(host: str, port: int) -> Sequence[str]:
    """Resolve with the operating system's ``getaddrinfo`` (TCP addresses only)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class EgressPolicy:
    """Which destinations outbound requests may reach. Deny by default.

    Attributes:
        allow_private: allow every address, including loopback and private networks (local
            development, tests). Denied hosts stay denied.
        allowed_hosts: host names (or IP literals) allowed whatever they resolve to.
        denied_hosts: host names always refused; an entry starting with ``.`` refuses every
            subdomain of it (``.internal``).
        resolver: how host names become addresses (tests pass a fake one).
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    denied_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=system_resolver, compare=False)

    def __post_init__(self) -> None:
        """Host names compare in lower case, without a trailing dot."""
        for name in ("allowed_hosts", "denied_hosts"):
            hosts = frozenset(h.lower().rstrip(".") for h in getattr(self, name))
            object.__setattr__(self, name, hosts)  # frozen: normalised once, here

    def with_allowed_hosts(self, *hosts: str) -> EgressPolicy:
        """A copy that also allows ``hosts`` whatever they resolve to."""
        return replace(self, allowed_hosts=self.allowed_hosts | set(hosts))

    def with_denied_hosts(self, *hosts: str) -> EgressPolicy:
        """A copy that also refuses ``hosts``."""
        return replace(self, denied_hosts=self.denied_hosts | set(hosts))

    def check_url(self, url: str) -> None:
        """Refuse a URL whose scheme or destination is not allowed.

        Raises:
            EgressDenied: the scheme is not http(s), the host is denied, or one of the
                host's addresses is not allowed.
            socket.gaierror: the host name does not resolve (only looked up when its
                addresses need checking).
        """
        parsed = httpx.URL(url)
        if parsed.scheme not in ALLOWED_SCHEMES:
            raise EgressDenied(parsed.host, f"scheme {parsed.scheme!r} is not http or https")
        if not parsed.host:
            raise EgressDenied("", "the URL has no host")
        host = parsed.host.lower().rstrip(".")
        self._check_host(host)
        if not (self.allow_private or host in self.allowed_hosts):  # else no address to check
            self.addresses(host, parsed.port or (443 if parsed.scheme == "https" else 80))

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` that a connection may use, all of them checked.

        Every address must pass (one bad address refuses the host), so that a name cannot
        hide an internal address behind a public one.

        Raises:
            EgressDenied: the host or one of its addresses is refused.
            socket.gaierror: the host name does not resolve.
        """
        host = host.lower().rstrip(".")
        self._check_host(host)
        literal = _ip_literal(host)
        if literal is not None:
            self._check_address(host, literal)
            return [str(literal)]
        found = list(self.resolver(host, port))
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, f"no address for {host}")
        for address in found:
            self._check_address(host, _ip_literal(address) or _unparseable(host, address))
        return found

    def _check_host(self, host: str) -> None:
        """Refuse a denied host name."""
        for denied in self.denied_hosts:
            if host == denied or (denied.startswith(".") and host.endswith(denied)):
                raise EgressDenied(host, "the host is denied")

    def _check_address(self, host: str, address: IPAddress) -> None:
        """Refuse an address that is not public, unless the policy allows it."""
        if self.allow_private or host in self.allowed_hosts:
            return
        reason = address_problem(address)
        if reason:
            raise EgressDenied(host, f"{address} is {reason}", str(address))


def address_problem(address: IPAddress) -> str:
    """Why an address is not a public destination, or ``""`` when it is one.

    An IPv6 address that embeds IPv4 addresses (:data:`IPV4_EMBEDDING`) is refused when any
    of them would be, whatever its own range; one in :data:`UNREACHABLE_IPV6` is refused
    whatever it embeds. The flags of :mod:`ipaddress` come last (their lists change with the
    Python version, so the ranges above are ours).
    """
    if address.is_unspecified or address.is_loopback:  # :: and ::1 before ::/96
        return "unspecified" if address.is_unspecified else "loopback"
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in embedded_ipv4(address):
            reason = address_problem(embedded)
            if reason:
                return f"{reason} (it embeds {embedded})"
        reason = next((why for net, why in UNREACHABLE_IPV6 if address in net), "")
        if reason:
            return reason
    checks = (
        (address.is_link_local, "link-local (incl. cloud metadata)"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for bad, reason in checks if bad), "")


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (:data:`IPV4_EMBEDDING`), if any."""
    value = int(address)
    return tuple(
        ipaddress.IPv4Address(read(value))
        for net, reads in IPV4_EMBEDDING
        if address in net
        for read in reads
    )


def _ip_literal(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (brackets and zone id allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _unparseable(host: str, address: str) -> IPAddress:
    """Refuse a resolver answer that is not an address."""
    raise EgressDenied(host, f"resolver returned {address!r}, not an IP address")


class _PinnedBackend(httpcore.NetworkBackend):
    """Resolves and checks the host, then connects to a checked address only."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first reachable checked address of ``host``."""
        try:
            addresses = self._policy.addresses(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Unix sockets are never a destination of the proxy."""
        raise EgressDenied(path, "unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        """Used by httpcore between its own connect retries (we configure none)."""
        self._inner.sleep(seconds)


def pinned_transport(
    policy: EgressPolicy,
    *,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits | None = None,
    http2: bool = False,
) -> httpx.HTTPTransport:
    """An httpx transport whose every connection obeys ``policy`` at connect time.

    Environment proxies are not used (a proxy would connect for us, unchecked).

    Args:
        policy: the destinations allowed.
        verify: TLS verification, as httpx takes it.
        limits: connection pool limits; httpx's defaults when ``None``.
        http2: offer HTTP/2 (needs the ``h2`` package).

    Returns:
        A transport to give ``httpx.Client(transport=...)``.
    """
    limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
    transport = httpx.HTTPTransport(verify=verify, trust_env=False, limits=limits, http2=http2)
    # httpx has no public hook for the network backend; the pool is rebuilt with the same
    # settings and ours. tests/orchestrator/test_egress.py fails if httpx renames `_pool`.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=_PinnedBackend(policy),
    )
    return transport
