"""A function's HTTP request as the proxy receives it, and the URL it makes.

The URL rules, the same for every auth mode: a relative endpoint is joined to the base URL
with exactly one ``/`` (never ``urljoin``, which would let ``//evil.example`` change the host);
an absolute ``http(s)://`` endpoint is used as it is; ``params`` are then set on the query,
each replacing a parameter of the same name already in the endpoint, while the endpoint's own
parameters keep their exact escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote_plus

import httpx

from corral.errors import InvalidRequest

Headers = tuple[tuple[str, str], ...]
"""HTTP headers as ordered name/value pairs."""

METHODS: frozenset[str] = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
"""The methods a function may use."""

HOP_BY_HOP: frozenset[str] = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection"}
    | {"te", "trailer", "trailers", "transfer-encoding", "upgrade"}
)
"""Headers about one connection, never forwarded either way."""

NOT_FROM_FUNCTIONS: frozenset[str] = HOP_BY_HOP | {"host", "content-length"}
"""Request headers a function cannot set: httpx computes them."""

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_QUERY_SAFE = "-_.~!*'(),:@$"
_REDACTED = "***"


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request from a function, as its ``nango.get/post/...`` call described it.

    Attributes:
        method: GET, POST, PUT, PATCH, DELETE (HEAD, OPTIONS), in any case.
        endpoint: a path (``/repos/x/issues?state=open``) or an absolute http(s) URL.
        headers: the function's headers.
        params: query parameters: a mapping (values str/int/float/bool or a list of them,
            joined with ``,``; ``None`` skipped), each replacing a same-named one already in the
            endpoint; or a query string appended as it is.
        data: the body.
        data_is_json: the body is JSON: ``Content-Type: application/json`` unless set.
        retries: the most retries (0: one attempt).
        retry_on: statuses always retried.
        base_url_override: a base URL instead of the connection's.
        decompress: accepted for compatibility; bodies are always decoded
            (``orchestrator.proxy._proxy``).
        response_type: how the SDK should present the body; carried, not used here.
        deadline: when the run must end (aware); no attempt is started, and no wait begun,
            that would end after it, and each attempt's timeout is cut to what is left.
        max_response_bytes: the run's cap on the decoded body (its environment's
            ``response_bytes`` budget); the proxy's own cap holds when it is lower or this is
            None.
        caller_gone: whether the SDK call's caller went away (the run was cancelled or
            ended, its runner died): then no attempt is started, no wait goes on, and the
            body's reading stops at its next chunk, so the request holds no thread past its
            run's end.
    """

    method: str
    endpoint: str
    headers: Headers = ()
    params: Mapping[str, Any] | str | None = None
    data: bytes | None = None
    data_is_json: bool = False
    retries: int = 0
    retry_on: tuple[int, ...] = ()
    base_url_override: str = ""
    decompress: bool = False
    response_type: str = ""
    deadline: datetime | None = None
    max_response_bytes: int | None = None
    caller_gone: Callable[[], bool] | None = None


def build_url(request: OutboundRequest, base_url: str) -> str:
    """The full URL of a request: base, endpoint and params, before credentials.

    Args:
        request: the function's request.
        base_url: the connection's (else the integration's) base URL; the request's
            ``base_url_override`` wins over it.

    Raises:
        InvalidRequest: no base URL for a relative endpoint, bad params, or credentials in
            the URL.
    """
    endpoint = request.endpoint.strip()
    if _ABSOLUTE.match(endpoint):
        url = endpoint
    else:
        base = (request.base_url_override or base_url).strip()
        if not base:
            raise InvalidRequest("no base URL: set base_url_override or the integration's")
        url = _join(base, endpoint)
    if isinstance(request.params, str):
        url = append_query(url, request.params)
    else:
        url = merge_query(url, _query_pairs(request.params or {}))
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidRequest(f"invalid URL: {exc}") from None
    if parsed.userinfo:
        raise InvalidRequest("credentials in the URL are not allowed; use headers")
    return url


def _join(base: str, endpoint: str) -> str:
    """``base`` and ``endpoint`` with exactly one ``/`` between them (never ``urljoin``)."""
    if not endpoint or endpoint.startswith(("?", "#")):
        return base + endpoint
    return f"{base.rstrip('/')}/{endpoint.lstrip('/')}"


def _query_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Params as name/value text: lists joined with ``,``, ``None`` skipped."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.append((str(name), ",".join(_scalar(name, v) for v in value if v is not None)))
        else:
            pairs.append((str(name), _scalar(name, value)))
    return pairs


def _scalar(name: str, value: Any) -> str:
    """One param value as JavaScript would print it (``true``, ``1`` for ``1.0``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidRequest(f"param {name!r} must be a string, number, boolean or list of them")


def normalize_method(method: str) -> str:
    """The method in upper case, if allowed."""
    upper = method.strip().upper()
    if upper not in METHODS:
        raise InvalidRequest(f"unsupported HTTP method {method!r}")
    return upper


def function_headers(request: OutboundRequest) -> Headers:
    """The function's headers, checked, without hop-by-hop ones, with a JSON content type."""
    for name, value in request.headers:
        if not _HEADER_NAME.match(name) or any(c in value for c in "\r\n\0"):
            raise InvalidRequest(f"invalid header {name!r}")
    kept = tuple((n, v) for n, v in request.headers if n.lower() not in NOT_FROM_FUNCTIONS)
    has_type = any(n.lower() == "content-type" for n, _ in kept)
    if request.data_is_json and request.data is not None and not has_type:
        kept += (("Content-Type", "application/json"),)
    return kept


def merge_query(url: str, pairs: Sequence[tuple[str, str]]) -> str:
    """Set query parameters on ``url``: each replaces any of the same name already there.

    Existing parameters keep their exact (escaped) spelling; new ones are percent-encoded
    like ``encodeURIComponent``, keeping ``,`` readable. A fragment is dropped.
    """
    url = url.partition("#")[0]
    if not pairs:
        return url
    base, _, query = url.partition("?")
    names = {name for name, _ in pairs}
    kept = [p for p in query.split("&") if p and _param_name(p) not in names]
    added = [f"{encode_query(name)}={encode_query(value)}" for name, value in pairs]
    return f"{base}?{'&'.join(kept + added)}"


def append_query(url: str, query: str) -> str:
    """Append a raw query string (``a=1&b=2``) to ``url`` as it is."""
    url, query = url.partition("#")[0], query.lstrip("?&")
    if not query:
        return url
    if "?" not in url:
        return f"{url}?{query}"
    return f"{url}{query}" if url.endswith(("?", "&")) else f"{url}&{query}"


def _param_name(part: str) -> str:
    """The decoded name of one ``name=value`` query component."""
    return unquote_plus(part.split("=", 1)[0])


def encode_query(value: str) -> str:
    """Percent-encode a query name or value."""
    return quote(value, safe=_QUERY_SAFE)


def redact_query_params(url: str, names: Iterable[str]) -> str:
    """Replace the values of the named query parameters with ``***``."""
    hidden = set(names)
    if not hidden or "?" not in url:
        return url
    base, _, query = url.partition("?")
    parts = [
        f"{p.split('=', 1)[0]}={_REDACTED}" if _param_name(p) in hidden else p
        for p in query.split("&")
    ]
    return f"{base}?{'&'.join(parts)}"
