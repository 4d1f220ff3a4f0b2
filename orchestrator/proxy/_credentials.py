"""Putting a connection's credentials on an outbound request, and keeping them secret.

:func:`inject` adds the credentials the way the integration's auth mode says, but only to a
request whose origin (scheme, host, port) is the target's own (or one listed in
``auth_config["allowed_origins"]``): a function that points ``base_url_override``, an absolute
endpoint or a redirect at its own server gets the request sent without them.

``auth_config`` keys, all optional:

* ``header``: the header to carry the credential (default ``Authorization``);
* ``format``: the header's value, with ``{name}`` replaced by the credential of that name
  (default ``Bearer {api_key}`` / ``Bearer {token}`` / ``Bearer {access_token}``, or just
  ``{api_key}`` when a custom ``header`` is named for an API key);
* ``query``: put the credential in this query parameter instead of a header;
* ``allowed_origins``: more origins (``https://uploads.example.com``) that may see it.

``OAUTH1`` and ``TBA`` sign each request instead (:mod:`orchestrator.proxy._oauth1`): the
consumer key and secret come from the credentials (``consumer_key``/``consumer_secret``) or the
integration (``client_id``/``client_secret``), the token from the credentials (``oauth_token`` and
``oauth_token_secret``, or NetSuite's ``token_id`` and ``token_secret``); ``OAUTH1`` signs with
HMAC-SHA1 (``auth_config["signature_method"]`` may say ``HMAC-SHA256``), ``TBA`` with HMAC-SHA256
and the account as ``realm``. ``OAUTH2_CC`` and ``APP`` (GitHub App) send the token that
:mod:`orchestrator.proxy._grants` fetched, as ``Bearer``.

:func:`redact` and :func:`secrets_of` keep those values out of errors and URLs reported back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from corral.errors import InvalidRequest
from orchestrator.proxy._oauth1 import OAuth1Keys, authorization, form_params
from orchestrator.proxy._outbound import Headers, encode_query, merge_query

AUTH_MODES: frozenset[str] = frozenset(
    {"NONE", "API_KEY", "BASIC", "BEARER", "OAUTH2", "OAUTH2_CC", "OAUTH1", "TBA", "APP"}
)
"""The auth modes the proxy can inject."""

SIGNED_MODES: frozenset[str] = frozenset({"OAUTH1", "TBA"})
"""The auth modes that sign each request (OAuth 1.0a) instead of sending a fixed value."""

INTEGRATION_SECRETS: frozenset[str] = frozenset(
    {"client_secret", "consumer_secret", "private_key", "app_secret", "webhook_secret"}
)
"""The integration's ``auth_config`` values that are secrets."""

_PRIMARY = {"API_KEY": ("api_key", "apiKey"), "BEARER": ("token", "access_token", "api_key")}
_PRIMARY |= {"OAUTH2": ("access_token",), "OAUTH2_CC": ("token", "access_token")}
_PRIMARY["APP"] = ("access_token", "token")
_SECRET_HINTS = ("token", "secret", "password", "key", "jwt", "signature", "cookie")
_NOT_SECRET_HINTS = ("type", "expires", "scope")  # token_type, expires_in, ...: plain words
_MIN_SECRET_LENGTH = 4  # shorter strings would redact ordinary text; see secrets_of
_MIN_PEM_LINE = 16  # a PEM body line is 64 characters; its short last line may be ordinary text
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
REDACTED = "***"
"""What a secret is replaced with."""


@dataclass(frozen=True)
class ProxyTarget:
    """Where a function's requests go and how they are authenticated.

    Attributes:
        base_url: the connection's base URL, else the integration's.
        auth_mode: one of :data:`AUTH_MODES`.
        auth_config: how to inject (see the module docstring).
        credentials: the connection's credentials (``{"type": "API_KEY", "api_key": ...}``).
        retry_status_codes: the provider's own retryable statuses; ``None``: 401, 429, 5xx.
        realm: the OAuth 1.0a ``realm`` (``TBA``: the NetSuite account); empty: none, or
            ``auth_config["realm"]``.
    """

    base_url: str
    auth_mode: str
    auth_config: Mapping[str, Any]
    credentials: Mapping[str, Any]
    retry_status_codes: tuple[int, ...] | None = None
    realm: str = ""


@dataclass(frozen=True)
class _Injection:
    """What the auth mode adds: headers to set and query parameters to set."""

    headers: Headers = ()
    query: Headers = ()


def origin(url: str) -> tuple[str, str, int]:
    """The origin of a URL: lower-case scheme and host, and the effective port."""
    parsed = httpx.URL(url)
    scheme = parsed.scheme.lower()
    return scheme, parsed.host.lower().rstrip("."), parsed.port or _DEFAULT_PORTS.get(scheme, 0)


def may_send_credentials(url: str, target: ProxyTarget) -> bool:
    """Whether ``url`` is on the target's own origin or an explicitly allowed one."""
    extra = target.auth_config.get("allowed_origins") or ()
    allowed = [target.base_url, *([extra] if isinstance(extra, str) else extra)]
    here = origin(url)
    return any(here == origin(str(other)) for other in allowed if other)


def inject(
    headers: Sequence[tuple[str, str]],
    url: str,
    target: ProxyTarget,
    *,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[Headers, str]:
    """Add the target's credentials to a request going to ``url``.

    An injected header replaces the function's header of the same name, case-insensitively,
    so a request never carries two ``Authorization`` headers; the function's other headers
    (an ``Authorization`` beside an injected ``X-Api-Key``, say) stay. An injected query
    parameter replaces one of the same name. Off-origin requests are returned unchanged.

    Args:
        headers: the request's headers.
        url: the request's full URL.
        target: the connection's target, with credentials.
        method: the request's method (signed by ``OAUTH1`` and ``TBA``).
        body: the request's body (a form-encoded one is signed by ``OAUTH1`` and ``TBA``).

    Returns:
        The headers and the URL to send.

    Raises:
        InvalidRequest: an unknown auth mode, or credentials missing a needed value.
    """
    if target.auth_mode.upper() not in AUTH_MODES:
        raise InvalidRequest(f"unknown auth mode {target.auth_mode!r}")
    if target.auth_mode.upper() == "NONE" or not may_send_credentials(url, target):
        return tuple(headers), url
    if target.auth_mode.upper() in SIGNED_MODES:
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        signed = authorization(oauth1_keys(target), method, url, form_params(content_type, body))
        injection = _Injection(headers=(("Authorization", signed),))
    else:
        injection = _injection(target)
    replaced = {name.lower() for name, _ in injection.headers}
    kept = tuple((n, v) for n, v in headers if n.lower() not in replaced)
    return kept + injection.headers, merge_query(url, injection.query)


def _injection(target: ProxyTarget) -> _Injection:
    """The headers and query parameters the auth mode adds."""
    mode = target.auth_mode.upper()
    if mode not in AUTH_MODES:
        raise InvalidRequest(f"unknown auth mode {target.auth_mode!r}")
    if mode == "NONE" or mode in SIGNED_MODES:  # signatures are made per request, in inject
        return _Injection()
    if mode == "BASIC":
        return _Injection(headers=(("Authorization", f"Basic {_basic_blob(target)}"),))
    return _token_injection(mode, target)


def _token_injection(mode: str, target: ProxyTarget) -> _Injection:
    """API key, bearer token or OAuth2 access token: a header or a query parameter."""
    config, creds = target.auth_config, target.credentials
    name = next((k for k in _PRIMARY[mode] if as_text(creds.get(k))), _PRIMARY[mode][0])
    secret = _required(creds, name, mode)
    if config.get("query"):
        return _Injection(query=((str(config["query"]), secret),))
    header = str(config.get("header") or "Authorization")
    default = f"{{{name}}}" if config.get("header") and mode == "API_KEY" else f"Bearer {{{name}}}"
    value = _fill(str(config.get("format") or default), creds, mode)
    return _Injection(headers=((header, value),))


def oauth1_keys(target: ProxyTarget) -> OAuth1Keys:
    """The keys an ``OAUTH1`` or ``TBA`` target signs with.

    Raises:
        InvalidRequest: a key or secret is missing.
    """
    mode, creds, config = target.auth_mode.upper(), target.credentials, target.auth_config
    both = {**{k: config.get(k) for k in ("client_id", "client_secret")}, **creds}
    method = "HMAC-SHA256" if mode == "TBA" else str(config.get("signature_method") or "")
    return OAuth1Keys(
        consumer_key=_one_of(both, ("consumer_key", "client_id"), mode),
        consumer_secret=_one_of(both, ("consumer_secret", "client_secret"), mode),
        token=_one_of(creds, ("oauth_token", "token_id", "token"), mode),
        token_secret=_one_of(creds, ("oauth_token_secret", "token_secret"), mode),
        signature_method=method.upper() or "HMAC-SHA1",
        realm=target.realm or as_text(config.get("realm")),
    )


def _one_of(values: Mapping[str, Any], names: Sequence[str], mode: str) -> str:
    """The first of ``names`` present in ``values``; an error naming the first if none is."""
    found = next((as_text(values.get(n)) for n in names if as_text(values.get(n))), "")
    return found or _required(values, names[0], mode)


def _basic_blob(target: ProxyTarget) -> str:
    """``base64(username:password)``; the password may be empty."""
    username = _required(target.credentials, "username", "BASIC")
    password = as_text(target.credentials.get("password"))
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _fill(template: str, credentials: Mapping[str, Any], mode: str) -> str:
    """Replace ``{name}`` with credentials (never ``str.format``: no attribute lookups)."""
    return _PLACEHOLDER.sub(lambda m: _required(credentials, m.group(1), mode), template)


def _required(credentials: Mapping[str, Any], name: str, mode: str) -> str:
    """A credential value that must be present."""
    value = as_text(credentials.get(name))
    if not value:
        raise InvalidRequest(f"the connection's {mode} credentials have no {name!r}")
    return value


def as_text(value: Any) -> str:
    """A credential (or a token endpoint's answer) as text: strings and numbers only."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def secrets_of(target: ProxyTarget) -> tuple[str, ...]:
    """Every value of the target that must never appear in an error or a reported URL.

    The injected values (a whole ``Authorization`` value, the Basic blob), every string
    credential whose name suggests a secret (``token``, ``secret``, ``password``, ``key``, ...,
    also inside ``raw``) and the integration's secrets (:data:`INTEGRATION_SECRETS`: a client
    or consumer secret that signs, a GitHub App's private key, each line of a PEM key too).
    Values shorter than 4 characters are left out: redacting them would mangle ordinary text;
    the proxy redacts an injected query parameter by name instead.
    """
    found: list[str] = []
    try:
        injection = _injection(target)
        found += [v for _, v in injection.headers] + [v for _, v in injection.query]
        if target.auth_mode.upper() == "BASIC":
            found.append(_basic_blob(target))
    except InvalidRequest:
        pass  # nothing injectable, so nothing injected to hide; the named ones still are
    found += _secret_strings(target.credentials)
    found += [as_text(target.auth_config.get(name)) for name in sorted(INTEGRATION_SECRETS)]
    found += [line for value in found for line in _pem_lines(value)]
    return tuple(dict.fromkeys(s for s in found if len(s) >= _MIN_SECRET_LENGTH))


def _pem_lines(value: str) -> list[str]:
    """The base64 lines of a PEM block (a log may show one line of a key, not all of it)."""
    if "-----BEGIN" not in value:
        return []
    lines = (line.strip() for line in value.splitlines())
    return [line for line in lines if len(line) >= _MIN_PEM_LINE and not line.startswith("-----")]


def _secret_strings(values: Mapping[str, Any], depth: int = 0) -> list[str]:
    """Strings under secret-looking keys, searched a few levels deep."""
    out: list[str] = []
    for key, value in values.items():
        if isinstance(value, Mapping) and depth < 3:
            out += _secret_strings(value, depth + 1)
        elif _looks_secret(str(key)) and as_text(value):
            out.append(as_text(value))
    return out


def _looks_secret(key: str) -> bool:
    """Whether a credential's name suggests its value is a secret."""
    key = key.lower()
    return any(h in key for h in _SECRET_HINTS) and not any(h in key for h in _NOT_SECRET_HINTS)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text``, raw or URL-encoded, with ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))):
            text = text.replace(form, REDACTED)
        text = text.replace(encode_query(secret), REDACTED)
    return text


def injected_query_names(target: ProxyTarget) -> tuple[str, ...]:
    """The query parameters the target's credentials go in, if any."""
    query = target.auth_config.get("query") if target.auth_mode.upper() != "NONE" else None
    return (str(query),) if query and target.auth_mode.upper() != "BASIC" else ()


def needs_refresh(
    credentials: Mapping[str, Any], now: datetime, within: timedelta = timedelta(minutes=15)
) -> bool:
    """Whether OAuth2 credentials expire within ``within`` of ``now`` (or already have).

    Credentials without ``expires_at`` never need it; an unreadable ``expires_at`` does (a
    refresh is the way to a readable one).
    """
    expires_at = credentials.get("expires_at")
    if not expires_at:
        return False
    try:
        when = datetime.fromisoformat(str(expires_at))
    except ValueError:
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=now.tzinfo)
    return when - now <= within
