"""The outbound proxy: every HTTP request a function makes is sent from here.

A function never reaches the network. Its ``nango.get/post/...`` calls arrive here as an
:class:`OutboundRequest`; :class:`Proxy` builds the URL, checks the destination against the
:class:`~orchestrator.proxy._egress.EgressPolicy`, injects the connection's credentials (on the
connection's own origin only), sends the request with httpx, follows redirects, retries
transient failures as the seed says, and returns the final response whatever its status.

Behaviour choices, for function authors and operators:

* **Bodies are always decoded** (gzip, deflate, and br/zstd when their packages are installed),
  which is what a Nango function sees: its SDK's axios decodes whatever the proxy hands it.
  ``decompress`` is accepted and changes nothing; when a body was decoded, ``content-encoding``
  and ``content-length`` are dropped from the headers, as axios does. The size cap counts
  decoded bytes, so a small compressed bomb cannot get past it.
* **Bodies are read in chunks under a cap**: the proxy's own (64 MiB), or the run's when it is
  lower (``OutboundRequest.max_response_bytes``, the environment's ``response_bytes`` budget).
  The cap is checked as each chunk arrives (and against ``content-length`` before reading), so
  a body over it is refused having held at most the cap, never buffered whole.
* **``set-cookie`` is passed back** (some APIs keep a session in a cookie and the function must
  send it again itself), but the httpx client never keeps cookies: its jar refuses them, so
  nothing one tenant receives is ever sent for another.
* **Hop-by-hop headers** (``connection``, ``transfer-encoding``, ...) are dropped both ways;
  a function cannot set ``host`` or ``content-length`` either (httpx computes them).
* **Redirects** are followed as axios does (up to 21; 303, and 301/302 after a POST, become a
  GET without body); each hop is checked by the egress policy and gets credentials only when it
  is on the connection's origin; a hop to another origin also loses the function's own
  ``authorization`` and ``cookie`` headers.
* A URL with credentials in it (``https://user:pass@host``) is refused: httpx would turn them
  into an ``Authorization`` header that replaces the injected one.
"""

from __future__ import annotations

import http.cookiejar
import importlib.util
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from corral.errors import InvalidRequest, RunFailure
from orchestrator._clock import Clock
from orchestrator.proxy._credentials import (
    ProxyTarget,
    inject,
    injected_query_names,
    origin,
    redact,
    secrets_of,
)
from orchestrator.proxy._egress import EgressDenied, EgressPolicy
from orchestrator.proxy._outbound import (
    HOP_BY_HOP,
    Headers,
    OutboundRequest,
    build_url,
    function_headers,
    normalize_method,
    redact_query_params,
)
from orchestrator.proxy._retry import RetryPolicy, network_error_code

__all__ = ["OutboundRequest", "Proxy", "ProxyResult", "ProxyTarget", "build_url"]

_CROSS_ORIGIN_DROPPED = frozenset({"authorization", "cookie", "proxy-authorization"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LENGTH = re.compile(r"[0-9]{1,18}")  # ASCII digits: str.isdigit() and int() take any digit
_OPTIONAL_DECODERS = {"br": ("brotli", "brotlicffi"), "zstd": ("zstandard",)}
_DECODED = frozenset(
    {"identity", "gzip", "deflate"}
    | {
        encoding
        for encoding, packages in _OPTIONAL_DECODERS.items()
        if any(importlib.util.find_spec(package) for package in packages)
    }
)
"""Content encodings httpx decodes here: br and zstd only with their packages installed."""


@dataclass(frozen=True)
class ProxyResult:
    """The final response to a function's request.

    Attributes:
        status: the HTTP status, whatever it is (the SDK raises for non-2xx, not the proxy).
        headers: response headers, names in lower case, hop-by-hop ones removed.
        body: the decoded body.
        url: the URL of the final response, with every secret replaced by ``***``.
        method: the method of the final request (a redirect may have turned it into GET).
        attempts: how many times the request was sent (redirects not counted).
    """

    status: int
    headers: Headers
    body: bytes
    url: str
    method: str
    attempts: int


@dataclass(frozen=True)
class _Hop:
    """One request on the way: the first one, or one after a redirect."""

    method: str
    url: str
    headers: Headers
    body: bytes | None
    max_bytes: int
    gone: Callable[[], bool] = lambda: False
    """Whether the SDK call's caller went away (checked with the time, per chunk and hop)."""


class _NetworkFailure(Exception):
    """An attempt that got no response."""

    def __init__(self, code: str, detail: str, url: str) -> None:
        super().__init__(detail)
        self.code, self.detail, self.url = code, detail, url


class _RefuseCookies(http.cookiejar.CookiePolicy):
    """A cookie policy that neither stores nor sends any cookie."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        """Never store."""
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        """Never send."""
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        """Never send."""
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        """Never send."""
        return False


class Proxy:
    """Sends functions' HTTP requests with the connection's credentials.

    Thread-safe as far as the httpx client is: one Proxy may serve many runs at once.
    """

    def __init__(
        self,
        client: httpx.Client,
        clock: Clock,
        egress: EgressPolicy,
        *,
        max_response_bytes: int = 64 << 20,
        timeout: float = 60.0,
        max_redirects: int = 21,
        max_request_seconds: float = 300.0,
        observe: Callable[[int | str], None] | None = None,
    ) -> None:
        """Create a proxy.

        Args:
            client: the httpx client to send with; build it with
                ``transport=pinned_transport(egress)`` so that connections are checked too.
                Its cookie jar is replaced by one that keeps nothing (see the module docstring).
            clock: the time and the waits between retries.
            egress: the destinations allowed.
            max_response_bytes: the largest decoded body accepted.
            timeout: seconds allowed to connect, and between two reads or writes.
            max_redirects: redirects followed before giving up.
            max_request_seconds: the longest one attempt may take, redirects and the whole body
                included; less when the run has less time left. A slow upstream (a byte at a
                time) is cut there, so no call holds a shared thread past its run's end.
            observe: told how each call ended (metrics): its final HTTP status, or
                ``egress_denied``, ``network_error``, ``too_large``, ``cancelled``, ``refused``
                (a malformed request) or ``other``.
        """
        client.cookies = http.cookiejar.CookieJar(policy=_RefuseCookies())  # used as it is
        self._client = client
        self._clock = clock
        self._egress = egress
        self._max_bytes = max_response_bytes
        self._timeout_seconds = timeout
        self._max_redirects = max_redirects
        self._max_request_seconds = max_request_seconds
        self._observe = observe

    def send(
        self, request: OutboundRequest, target_source: Callable[[], ProxyTarget]
    ) -> ProxyResult:
        """Send a request, retrying as the seed says, and return the final response.

        Args:
            request: the function's request.
            target_source: returns the connection's current target; called before the first
                attempt and again after a retryable 401 (the caller refreshes credentials
                there). When the credentials did not change, that 401 is the final answer.

        Returns:
            The final response, for any status.

        Raises:
            InvalidRequest: a malformed request (method, headers, params, URL).
            RunFailure: ``script_network_error`` when no response came within the retries
                allowed, or the destination is refused (payload ``code`` ``EGRESS_DENIED``);
                ``resource_exhausted`` when the body is larger than allowed.
        """
        if self._observe is None:
            return self._send(request, target_source)
        try:
            result = self._send(request, target_source)
        except RunFailure as failure:
            self._observe(_failure_status(failure))
            raise
        except InvalidRequest:
            self._observe("refused")
            raise
        self._observe(result.status)
        return result

    def _send(
        self, request: OutboundRequest, target_source: Callable[[], ProxyTarget]
    ) -> ProxyResult:
        limit = min(self._max_bytes, request.max_response_bytes or self._max_bytes)
        method = normalize_method(request.method)
        gone = request.caller_gone or _never_gone
        first = _Hop(method, "", function_headers(request), request.data, limit, gone)
        target = target_source()
        retry = 0
        while True:
            _still_wanted(gone)
            outcome = self._attempt(request, first, target)
            policy = _retry_policy(request, target)
            if retry >= request.retries or not _retryable(outcome, policy):
                return _finish(outcome, target, retry + 1)
            if isinstance(outcome, ProxyResult) and outcome.status == 401:
                fresh = target_source()
                if dict(fresh.credentials) == dict(target.credentials):
                    return _finish(outcome, target, retry + 1)
                target = fresh
            wait = _delay(policy, outcome, retry, self._clock)
            if self._remaining(request) <= wait:
                return _finish(outcome, target, retry + 1)
            self._clock.sleep(wait)
            retry += 1

    def _remaining(self, request: OutboundRequest) -> float:
        """Seconds left before the request's deadline (infinite without one)."""
        if request.deadline is None:
            return float("inf")
        return (request.deadline - self._clock.now()).total_seconds()

    def _attempt(
        self, request: OutboundRequest, first: _Hop, target: ProxyTarget
    ) -> ProxyResult | _NetworkFailure:
        """One attempt, redirects included: the final response, or the network failure."""
        hop = replace(first, url=build_url(request, target.base_url))
        remaining = self._remaining(request)
        if remaining <= 0:
            return _NetworkFailure("ETIMEDOUT", "the run's deadline has passed", hop.url)
        timeout = min(self._timeout_seconds, remaining)
        until = time.monotonic() + min(remaining, self._max_request_seconds)
        try:
            return self._follow(hop, target, httpx.Timeout(timeout), until)
        except _NetworkFailure as failure:
            return failure

    def _follow(
        self, hop: _Hop, target: ProxyTarget, timeout: httpx.Timeout, until: float
    ) -> ProxyResult:
        """Send ``hop`` and follow its redirects, all before ``until`` (monotonic)."""
        for _ in range(self._max_redirects + 1):
            _in_time(until, hop)
            result, location = self._send_hop(hop, target, timeout, until)
            if location is None:
                return result
            hop = _redirected(hop, result.status, location)
        message = f"more than {self._max_redirects} redirects"
        raise _NetworkFailure("ERR_FR_TOO_MANY_REDIRECTS", message, hop.url)

    def _send_hop(
        self, hop: _Hop, target: ProxyTarget, timeout: httpx.Timeout, until: float
    ) -> tuple[ProxyResult, str | None]:
        """Check, authenticate and send one request; return its response and redirect."""
        self._check_destination(hop, target)
        headers, url = inject(hop.headers, hop.url, target, method=hop.method, body=hop.body)
        sent = replace(hop, url=url, headers=headers)
        outgoing = self._client.build_request(
            hop.method, url, headers=list(headers), content=hop.body, timeout=timeout
        )
        try:
            response = self._client.send(outgoing, stream=True, follow_redirects=False, auth=None)
        except EgressDenied as exc:  # the pinned transport's own check, at connect time
            raise _denied(exc, sent, target) from None
        except httpx.HTTPError as exc:
            raise _NetworkFailure(network_error_code(exc), str(exc), url) from None
        try:
            return self._read(response, sent, target, until)
        except httpx.HTTPError as exc:
            raise _NetworkFailure(network_error_code(exc), str(exc), url) from None
        finally:
            response.close()

    def _check_destination(self, hop: _Hop, target: ProxyTarget) -> None:
        """Refuse a destination the egress policy does not allow, before sending."""
        try:
            self._egress.check_url(hop.url)
        except httpx.InvalidURL as exc:  # a redirect's Location; the function's URLs are checked
            raise _NetworkFailure("ERR_INVALID_URL", str(exc), hop.url) from None
        except EgressDenied as exc:
            raise _denied(exc, hop, target) from None
        except socket.gaierror as exc:
            raise _NetworkFailure(network_error_code(exc), str(exc), hop.url) from None

    def _read(
        self, response: httpx.Response, hop: _Hop, target: ProxyTarget, until: float
    ) -> tuple[ProxyResult, str | None]:
        """The response as a result, and the redirect location it names, if any."""
        location = response.headers.get("location") if response.status_code in _REDIRECTS else None
        body = b"" if location else self._body(response, hop, target, until)
        headers = _response_headers(response)
        return ProxyResult(response.status_code, headers, body, hop.url, hop.method, 0), location

    def _body(
        self, response: httpx.Response, hop: _Hop, target: ProxyTarget, until: float
    ) -> bytes:
        """The decoded body, refused once it grows past the limit or its time runs out."""
        declared = response.headers.get("content-length", "").strip()
        if (
            _LENGTH.fullmatch(declared)  # else as if absent: the cap holds as the body is read
            and hop.method != "HEAD"
            and "content-encoding" not in response.headers
        ):
            self._check_size(int(declared), hop, target)
        # One growing buffer (large ones grow in place with mremap), not a list of chunks
        # joined at the end: the body is held once while it is read, twice only while it
        # becomes ``bytes``.
        buffer = bytearray()
        for chunk in response.iter_bytes():
            _in_time(until, hop)
            self._check_size(len(buffer) + len(chunk), hop, target)
            buffer += chunk
        body = bytes(buffer)
        del buffer
        return body

    def _check_size(self, size: int, hop: _Hop, target: ProxyTarget) -> None:
        """Refuse a body larger than the request's cap (``max_response_bytes``, or the run's)."""
        if size <= hop.max_bytes:
            return
        url = _public_url(hop.url, target)
        message = f"the response to {hop.method} {url} is larger than {hop.max_bytes} bytes"
        payload = {"resource": "response_size", "limit": hop.max_bytes, "url": url}
        raise RunFailure("resource_exhausted", message, payload=payload)


def _never_gone() -> bool:
    return False


def _still_wanted(gone: Callable[[], bool]) -> None:
    """Ends a request whose caller went away: its run ended, nobody will read the answer."""
    if gone():
        raise RunFailure("execution_cancelled", "the run ended before its request did")


def _in_time(until: float, hop: _Hop) -> None:
    """Ends an attempt whose time is up (the run's remaining time, or the cap), or whose
    caller went away."""
    _still_wanted(hop.gone)
    if time.monotonic() > until:
        message = "the request took longer than it had (the run's time left, or the cap)"
        raise _NetworkFailure("ETIMEDOUT", message, hop.url)


def _response_headers(response: httpx.Response) -> Headers:
    """Response headers in lower case, without hop-by-hop ones or stale encoding headers."""
    encodings = {e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")}
    decoded = "content-encoding" in response.headers and encodings <= _DECODED
    dropped = HOP_BY_HOP | ({"content-encoding", "content-length"} if decoded else set())
    return tuple((n, v) for n, v in response.headers.multi_items() if n not in dropped)


def _redirected(hop: _Hop, status: int, location: str) -> _Hop:
    """The request a redirect asks for (axios / follow-redirects rules)."""
    parts = urlsplit(urljoin(hop.url, location))
    netloc = parts.netloc.rpartition("@")[2]  # userinfo would become an Authorization header
    url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    method, body, headers = hop.method, hop.body, hop.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = tuple((n, v) for n, v in headers if n.lower() != "content-type")
    if origin(url) != origin(hop.url):
        headers = tuple((n, v) for n, v in headers if n.lower() not in _CROSS_ORIGIN_DROPPED)
    return _Hop(method, url, headers, body, hop.max_bytes)


def _retry_policy(request: OutboundRequest, target: ProxyTarget) -> RetryPolicy:
    """The retry rules for this request and provider."""
    provider = target.retry_status_codes
    return RetryPolicy(
        retries=request.retries,
        retry_on=frozenset(request.retry_on),
        provider_statuses=None if provider is None else frozenset(provider),
    )


def _retryable(outcome: ProxyResult | _NetworkFailure, policy: RetryPolicy) -> bool:
    """Whether the outcome of an attempt is worth another one."""
    if isinstance(outcome, _NetworkFailure):
        return policy.retries_network(outcome.code)
    return policy.retries_response(outcome.status, outcome.headers)


def _delay(
    policy: RetryPolicy, outcome: ProxyResult | _NetworkFailure, retry: int, clock: Clock
) -> float:
    """Seconds to wait before the next attempt."""
    if isinstance(outcome, _NetworkFailure):
        return policy.delay(retry, None, (), clock.now())
    return policy.delay(retry, outcome.status, outcome.headers, clock.now())


def _finish(
    outcome: ProxyResult | _NetworkFailure, target: ProxyTarget, attempts: int
) -> ProxyResult:
    """The result to return, with a redacted URL, or the network failure raised."""
    if isinstance(outcome, ProxyResult):
        return replace(outcome, url=_public_url(outcome.url, target), attempts=attempts)
    url = _public_url(outcome.url, target)
    detail = redact(outcome.detail, secrets_of(target))
    message = f"request to {url} failed: {outcome.code}" + (f" ({detail})" if detail else "")
    payload = {"code": outcome.code, "url": url, "attempts": attempts}
    retryable = RetryPolicy().retries_network(outcome.code)
    raise RunFailure("script_network_error", message, payload=payload, retryable=retryable)


def _failure_status(failure: RunFailure) -> str:
    """How a proxied call that got no final response ended, for metrics."""
    if failure.code == "script_network_error":
        denied = (
            isinstance(failure.payload, dict) and failure.payload.get("code") == "EGRESS_DENIED"
        )
        return "egress_denied" if denied else "network_error"
    return {"resource_exhausted": "too_large", "execution_cancelled": "cancelled"}.get(
        failure.code, "other"
    )


def _denied(exc: EgressDenied, hop: _Hop, target: ProxyTarget) -> RunFailure:
    """The error for a destination the egress policy refuses (never retried)."""
    url = _public_url(hop.url, target)
    return exc.failure(f"{hop.method} {url}", url)


def _public_url(url: str, target: ProxyTarget) -> str:
    """``url`` with every secret of the target (and an injected query parameter) hidden."""
    hidden = redact_query_params(url, injected_query_names(target))
    return redact(hidden, secrets_of(target))
