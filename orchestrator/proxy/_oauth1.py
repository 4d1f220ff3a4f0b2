"""OAuth 1.0a request signing (RFC 5849), shared by the ``OAUTH1`` and ``TBA`` auth modes.

``OAUTH1`` signs with HMAC-SHA1 (Trello, Twitter's v1.1 API); ``TBA`` is NetSuite's token-based
authentication, the same protocol signed with HMAC-SHA256 and a ``realm`` naming the account.
A signature covers the method, the URL (query included) and a form-encoded body, so it is made
for each request the proxy sends, redirects included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

_DIGESTS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
_DEFAULT_PORTS = {"http": 80, "https": 443}
FORM_TYPE = "application/x-www-form-urlencoded"
"""The body type whose parameters are signed (RFC 5849 section 3.4.1.3.1)."""


@dataclass(frozen=True)
class OAuth1Keys:
    """What a request is signed with.

    Attributes:
        consumer_key: the application's key (NetSuite: the integration's consumer key).
        consumer_secret: the application's secret.
        token: the user's access token (NetSuite: the token id).
        token_secret: the access token's secret.
        signature_method: ``HMAC-SHA1`` or ``HMAC-SHA256``.
        realm: the ``realm`` of the header (NetSuite: the account id); not signed.
    """

    consumer_key: str
    consumer_secret: str
    token: str
    token_secret: str
    signature_method: str = "HMAC-SHA1"
    realm: str = ""


def encode(text: str) -> str:
    """RFC 5849 section 3.6 percent-encoding: everything but ``A-Z a-z 0-9 - . _ ~``."""
    return quote(text, safe="-._~")


def authorization(
    keys: OAuth1Keys,
    method: str,
    url: str,
    form: Sequence[tuple[str, str]] = (),
    *,
    nonce: str = "",
    timestamp: int | None = None,
) -> str:
    """The ``Authorization: OAuth ...`` value for one request.

    Args:
        keys: the consumer's and token's keys.
        method: the HTTP method.
        url: the full URL, query included.
        form: the parameters of a form-encoded body (nothing for any other body).
        nonce: the request's nonce (random when empty).
        timestamp: the request's Unix time (now when None).
    """
    oauth = [
        ("oauth_consumer_key", keys.consumer_key),
        ("oauth_nonce", nonce or secrets.token_hex(16)),
        ("oauth_signature_method", keys.signature_method),
        ("oauth_timestamp", str(int(time.time()) if timestamp is None else timestamp)),
        ("oauth_token", keys.token),
        ("oauth_version", "1.0"),
    ]
    signed = signature(keys, base_string(method, url, [*oauth, *form]))
    fields = [("realm", keys.realm)] if keys.realm else []
    fields += [*oauth, ("oauth_signature", signed)]
    return "OAuth " + ",".join(f'{name}="{encode(value)}"' for name, value in fields)


def base_string(method: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """The signature base string (RFC 5849 section 3.4.1): method, base URI, parameters.

    ``params`` are the ``oauth_*`` and body parameters; the URL's query is added here.
    """
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    base_uri = f"{scheme}://{netloc}{parts.path or '/'}"
    every = [*parse_qsl(parts.query, keep_blank_values=True), *params]
    pairs = sorted((encode(name), encode(value)) for name, value in every)
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join(encode(piece) for piece in (method.upper(), base_uri, normalized))


def signature(keys: OAuth1Keys, base: str) -> str:
    """The base64 HMAC of ``base`` keyed with both secrets (RFC 5849 section 3.4.2)."""
    digest = _DIGESTS.get(keys.signature_method.upper())
    if digest is None:
        raise ValueError(f"unsupported OAuth 1.0 signature method {keys.signature_method!r}")
    key = f"{encode(keys.consumer_secret)}&{encode(keys.token_secret)}"
    mac = hmac.new(key.encode(), base.encode(), digest).digest()
    return base64.b64encode(mac).decode("ascii")


def form_params(content_type: str, body: bytes | None) -> list[tuple[str, str]]:
    """The parameters of a form-encoded body, which the signature covers; else none."""
    if not body or content_type.split(";", maxsplit=1)[0].strip().lower() != FORM_TYPE:
        return []
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
