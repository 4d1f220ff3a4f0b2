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

from corral.errors import InvalidRequest, RunFailure
from orchestrator._clock import Clock
from orchestrator.proxy._outbound import Headers, encode_query, merge_query
from orchestrator.proxy._retry import network_error_code

AUTH_MODES: frozenset[str] = frozenset({"NONE", "API_KEY", "BASIC", "BEARER", "OAUTH2"})
"""The auth modes the proxy can inject."""

_PRIMARY = {"API_KEY": ("api_key", "apiKey"), "BEARER": ("token", "access_token", "api_key")}
_PRIMARY["OAUTH2"] = ("access_token",)
_SECRET_HINTS = ("token", "secret", "password", "key", "jwt", "signature", "cookie")
_NOT_SECRET_HINTS = ("type", "expires", "scope")  # token_type, expires_in, ...: plain words
_MIN_SECRET_LENGTH = 4  # shorter strings would redact ordinary text; see secrets_of
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
REDACTED = "***"
"""What a secret is replaced with."""


@dataclass(frozen=True)
class ProxyTarget:
    """Where a function's requests go and how they are authenticated.

    Attributes:
        base_url: the connection's base URL, else the integration's.
        auth_mode: ``NONE``, ``API_KEY``, ``BASIC``, ``BEARER`` or ``OAUTH2``.
        auth_config: how to inject (see the module docstring).
        credentials: the connection's credentials (``{"type": "API_KEY", "api_key": ...}``).
        retry_status_codes: the provider's own retryable statuses; ``None``: 401, 429, 5xx.
    """

    base_url: str
    auth_mode: str
    auth_config: Mapping[str, Any]
    credentials: Mapping[str, Any]
    retry_status_codes: tuple[int, ...] | None = None


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
    headers: Sequence[tuple[str, str]], url: str, target: ProxyTarget
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

    Returns:
        The headers and the URL to send.

    Raises:
        InvalidRequest: an unknown auth mode, or credentials missing a needed value.
    """
    if target.auth_mode.upper() not in AUTH_MODES:
        raise InvalidRequest(f"unknown auth mode {target.auth_mode!r}")
    if target.auth_mode.upper() == "NONE" or not may_send_credentials(url, target):
        return tuple(headers), url
    injection = _injection(target)
    replaced = {name.lower() for name, _ in injection.headers}
    kept = tuple((n, v) for n, v in headers if n.lower() not in replaced)
    return kept + injection.headers, merge_query(url, injection.query)


def _injection(target: ProxyTarget) -> _Injection:
    """The headers and query parameters the auth mode adds."""
    mode = target.auth_mode.upper()
    if mode not in AUTH_MODES:
        raise InvalidRequest(f"unknown auth mode {target.auth_mode!r}")
    if mode == "NONE":
        return _Injection()
    if mode == "BASIC":
        return _Injection(headers=(("Authorization", f"Basic {_basic_blob(target)}"),))
    return _token_injection(mode, target)


def _token_injection(mode: str, target: ProxyTarget) -> _Injection:
    """API key, bearer token or OAuth2 access token: a header or a query parameter."""
    config, creds = target.auth_config, target.credentials
    name = next((k for k in _PRIMARY[mode] if _text(creds.get(k))), _PRIMARY[mode][0])
    secret = _required(creds, name, mode)
    if config.get("query"):
        return _Injection(query=((str(config["query"]), secret),))
    header = str(config.get("header") or "Authorization")
    default = f"{{{name}}}" if config.get("header") and mode == "API_KEY" else f"Bearer {{{name}}}"
    value = _fill(str(config.get("format") or default), creds, mode)
    return _Injection(headers=((header, value),))


def _basic_blob(target: ProxyTarget) -> str:
    """``base64(username:password)``; the password may be empty."""
    username = _required(target.credentials, "username", "BASIC")
    password = _text(target.credentials.get("password"))
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _fill(template: str, credentials: Mapping[str, Any], mode: str) -> str:
    """Replace ``{name}`` with credentials (never ``str.format``: no attribute lookups)."""
    return _PLACEHOLDER.sub(lambda m: _required(credentials, m.group(1), mode), template)


def _required(credentials: Mapping[str, Any], name: str, mode: str) -> str:
    """A credential value that must be present."""
    value = _text(credentials.get(name))
    if not value:
        raise InvalidRequest(f"the connection's {mode} credentials have no {name!r}")
    return value


def _text(value: Any) -> str:
    """A credential as text: strings and numbers only."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def secrets_of(target: ProxyTarget) -> tuple[str, ...]:
    """Every value of the target that must never appear in an error or a reported URL.

    The injected values (a whole ``Authorization`` value, the Basic blob) and every string
    credential whose name suggests a secret (``token``, ``secret``, ``password``, ``key``, ...,
    also inside ``raw``). Values shorter than 4 characters are left out: redacting them would
    mangle ordinary text; the proxy redacts an injected query parameter by name instead.
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
    return tuple(dict.fromkeys(s for s in found if len(s) >= _MIN_SECRET_LENGTH))


def _secret_strings(values: Mapping[str, Any], depth: int = 0) -> list[str]:
    """Strings under secret-looking keys, searched a few levels deep."""
    out: list[str] = []
    for key, value in values.items():
        if isinstance(value, Mapping) and depth < 3:
            out += _secret_strings(value, depth + 1)
        elif _looks_secret(str(key)) and _text(value):
            out.append(_text(value))
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


def refresh_oauth2(  # noqa: PLR0917 (the positional order is the agreed interface)
    client: httpx.Client,
    token_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    clock: Clock,
    *,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Exchange a refresh token for new OAuth2 credentials (RFC 6749 section 6).

    The client id and secret go in the form body, which every provider accepts or ignores.

    Returns:
        ``{"type": "OAUTH2", "access_token", "refresh_token", "expires_at", "raw"}``; the old
        refresh token is kept when the provider does not rotate it; ``expires_at`` (ISO 8601,
        UTC, ``Z``) only when the provider gave ``expires_in``.

    Raises:
        RunFailure: ``script_network_error`` when the token endpoint cannot be reached,
            ``script_http_error`` when it refuses or answers without an access token.
    """
    secrets = (client_secret, refresh_token)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    form |= {"client_id": client_id, "client_secret": client_secret}
    body = _post_token_request(client, token_url, form, timeout, secrets)
    access = _text(body.get("access_token"))
    if not access:
        raise _refresh_failure(token_url, 200, "the response has no access_token", secrets)
    out: dict[str, Any] = {"type": "OAUTH2", "access_token": access, "raw": body}
    out["refresh_token"] = _text(body.get("refresh_token")) or refresh_token
    expires_in = _expires_in(body)
    if expires_in is not None:
        expires = clock.now() + timedelta(seconds=expires_in)
        out["expires_at"] = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return out


def _post_token_request(
    client: httpx.Client, url: str, form: dict[str, str], timeout: float, secrets: Sequence[str]
) -> dict[str, Any]:
    """POST the refresh form and return the JSON object answered."""
    try:
        response = client.post(
            url, data=form, headers={"Accept": "application/json"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        code = network_error_code(exc)
        message = redact(f"token refresh at {url} failed: {code} ({exc})", secrets)
        raise RunFailure(
            "script_network_error", message, payload={"code": code, "url": url}
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not response.is_success or not isinstance(body, dict):
        detail = body.get("error", "") if isinstance(body, dict) else ""
        raise _refresh_failure(url, response.status_code, str(detail or "refused"), secrets)
    return body


def _refresh_failure(url: str, status: int, detail: str, secrets: Sequence[str]) -> RunFailure:
    """The error for a token endpoint that refused or answered nonsense."""
    message = redact(f"OAuth2 token refresh at {url} failed ({status}): {detail}", secrets)
    payload = {"code": "refresh_token_external_error", "status": status, "url": url}
    return RunFailure("script_http_error", message, payload=payload)


def _expires_in(body: Mapping[str, Any]) -> float | None:
    """``expires_in`` as seconds, when present and numeric."""
    try:
        return float(body["expires_in"])
    except (KeyError, TypeError, ValueError):
        return None
