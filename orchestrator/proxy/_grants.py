"""Getting tokens from a provider's token endpoint: OAuth2 refresh and client credentials, and
GitHub App installation tokens.

Each returns the connection's new credentials, ready to store; the caller
(:class:`~orchestrator.proxy._connections.ConnectionService`) decides when a token is due and
makes sure one connection fetches once at a time. A failure is a typed
:class:`~corral.errors.RunFailure` whose message never holds the secrets sent.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from corral import _json
from corral.errors import InvalidRequest, RunFailure
from orchestrator._clock import Clock
from orchestrator.proxy._credentials import as_text, redact
from orchestrator.proxy._egress import EgressDenied
from orchestrator.proxy._retry import network_error_code

APP_JWT_LIFETIME = timedelta(minutes=9)
"""How long a GitHub App JWT is valid (GitHub refuses more than 10 minutes)."""
_CLOCK_SKEW = timedelta(seconds=60)  # GitHub's advice: date iat back for clocks that drift

MAX_EXPIRES_IN = 10 * 366 * 86400
"""The longest ``expires_in`` read (ten years); a longer one is as if absent (no expiry)."""
_SECONDS = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,9})?")


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
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    form |= {"client_id": client_id, "client_secret": client_secret}
    request = _TokenRequest(token_url, "OAuth2 token refresh", (client_secret, refresh_token))
    body = request.post(client, timeout, data=form)
    out: dict[str, Any] = {"type": "OAUTH2", "access_token": request.token(body, "access_token")}
    out["raw"] = body
    out["refresh_token"] = as_text(body.get("refresh_token")) or refresh_token
    return out | _expiry(body, clock)


def client_credentials(  # noqa: PLR0917 (the grant's own inputs, as refresh_oauth2's)
    client: httpx.Client,
    token_url: str,
    client_id: str,
    client_secret: str,
    scopes: Sequence[str],
    clock: Clock,
    *,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Get an access token with the client credentials grant (RFC 6749 section 4.4).

    Returns:
        ``{"type": "OAUTH2_CC", "token", "expires_at", "raw"}`` (``expires_at`` only when the
        provider gave ``expires_in``).

    Raises:
        RunFailure: as :func:`refresh_oauth2`.
    """
    form = {"grant_type": "client_credentials", "client_id": client_id}
    form["client_secret"] = client_secret
    if scopes:
        form["scope"] = " ".join(scopes)
    request = _TokenRequest(token_url, "OAuth2 client credentials grant", (client_secret,))
    body = request.post(client, timeout, data=form)
    out: dict[str, Any] = {"type": "OAUTH2_CC", "token": request.token(body, "access_token")}
    return out | {"raw": body} | _expiry(body, clock)


def github_app_token(
    client: httpx.Client,
    token_url: str,
    app_id: str,
    private_key: str,
    clock: Clock,
    *,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Exchange a GitHub App's JWT for an installation access token.

    Args:
        client: the HTTP client.
        token_url: ``POST /app/installations/{installation_id}/access_tokens``, in full.
        app_id: the app's id (the JWT's issuer).
        private_key: the app's RSA private key, PEM.
        clock: the time for the JWT's ``iat`` and ``exp``.
        timeout: seconds.

    Returns:
        ``{"type": "APP", "access_token", "expires_at", "raw"}``.

    Raises:
        InvalidRequest: the private key is not an RSA key in PEM.
        RunFailure: as :func:`refresh_oauth2`.
    """
    jwt = app_jwt(app_id, private_key, clock.now())
    headers = {"Authorization": f"Bearer {jwt}", "Accept": "application/vnd.github+json"}
    request = _TokenRequest(token_url, "GitHub App installation token", (jwt, private_key))
    body = request.post(client, timeout, headers=headers)
    out: dict[str, Any] = {"type": "APP", "access_token": request.token(body, "token")}
    expires_at = as_text(body.get("expires_at"))
    return out | {"raw": body} | ({"expires_at": expires_at} if expires_at else {})


def app_jwt(app_id: str, private_key: str, now: datetime) -> str:
    """A GitHub App's JWT: RS256, ``iss`` the app id, valid from a minute ago for 9 minutes."""
    key = _rsa_key(private_key)
    issued = int((now - _CLOCK_SKEW).timestamp())
    claims = {"iat": issued, "exp": int((now + APP_JWT_LIFETIME).timestamp()), "iss": app_id}
    head = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signed = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64url(signed)}"


def _rsa_key(pem: str) -> rsa.RSAPrivateKey:
    """The RSA private key in ``pem``."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidRequest("the integration's private_key is not an RSA private key in PEM")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class _TokenRequest:
    """One call to a token endpoint, with its errors typed and redacted."""

    def __init__(self, url: str, what: str, secrets: Sequence[str]) -> None:
        self.url, self.what, self.secrets = url, what, secrets

    def post(self, client: httpx.Client, timeout: float, **send: Any) -> dict[str, Any]:
        """POST (form in ``data`` or none) and return the JSON object answered."""
        headers = {"Accept": "application/json", **send.pop("headers", {})}
        try:
            response = client.post(self.url, headers=headers, timeout=timeout, **send)
        except EgressDenied as exc:  # the pinned transport refuses the token URL's address
            url = redact(self.url, self.secrets)
            raise exc.failure(f"{self.what} at {url}", url) from None
        except httpx.HTTPError as exc:
            code = network_error_code(exc)
            message = redact(f"{self.what} at {self.url} failed: {code} ({exc})", self.secrets)
            payload = {"code": code, "url": self.url}
            raise RunFailure("script_network_error", message, payload=payload) from None
        try:  # strictly: the answer is stored with the credentials
            body = _json.loads(response.content, what="the token endpoint's answer")
        except InvalidRequest:
            body = None
        if not response.is_success or not isinstance(body, dict):
            detail = body.get("error") or body.get("message") if isinstance(body, dict) else ""
            raise self.failure(response.status_code, str(detail or "refused"))
        return body

    def token(self, body: Mapping[str, Any], name: str) -> str:
        """The token the endpoint answered, which must be there."""
        token = as_text(body.get(name))
        if not token:
            raise self.failure(200, f"the response has no {name}")
        return token

    def failure(self, status: int, detail: str) -> RunFailure:
        """The error for a token endpoint that refused or answered nonsense."""
        message = redact(f"{self.what} at {self.url} failed ({status}): {detail}", self.secrets)
        payload = {"code": "refresh_token_external_error", "status": status, "url": self.url}
        return RunFailure("script_http_error", message, payload=payload)


def _expiry(body: Mapping[str, Any], clock: Clock) -> dict[str, str]:
    """``{"expires_at": ...}`` (ISO 8601, UTC, ``Z``) from ``expires_in``, or nothing.

    ``expires_in`` is a number, or text of ASCII digits (``float`` would take other scripts'
    digits, ``nan``, ``inf``), of at most ``MAX_EXPIRES_IN``; anything else is as if absent.
    """
    given = body.get("expires_in")
    if isinstance(given, str) and _SECONDS.fullmatch(given.strip()):
        given = float(given)
    if isinstance(given, bool) or not isinstance(given, int | float):  # True is no seconds
        return {}
    seconds = float(given)
    if not 0 <= seconds <= MAX_EXPIRES_IN:  # NaN and the infinities too
        return {}
    expires = clock.now() + timedelta(seconds=seconds)
    return {"expires_at": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
