"""An OAuth 1.0a signature check written apart from corral's signer (RFC 5849 section 3.4),
for local servers in tests that play an OAuth 1.0a API."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, quote, unquote, urlsplit

_DIGESTS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}


def _enc(text: str) -> str:
    return quote(text, safe="-._~")


def header_fields(header: str) -> dict[str, str]:
    """The fields of an ``OAuth k="v",...`` header value, decoded."""
    return {
        name.strip(): unquote(value.strip().strip('"'))
        for name, _, value in (part.partition("=") for part in header[6:].split(","))
    }


def verify(  # noqa: PLR0917 (a request's parts and the two secrets)
    method: str,
    url: str,
    header: str,
    body: bytes,
    content_type: str,
    secrets: tuple[str, str],
) -> bool:
    """Whether ``header`` signs the request with the consumer and token ``secrets``."""
    if not header.startswith("OAuth "):
        return False
    fields = header_fields(header)
    parts = urlsplit(url)
    params = [(k, v) for k, v in fields.items() if k not in {"realm", "oauth_signature"}]
    params += parse_qsl(parts.query, keep_blank_values=True)
    if content_type.startswith("application/x-www-form-urlencoded"):
        params += parse_qsl(body.decode(), keep_blank_values=True)
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in params))
    base = "&".join(
        _enc(x) for x in (method, f"{parts.scheme}://{parts.netloc}{parts.path}", normalized)
    )
    key = "&".join(_enc(s) for s in secrets).encode()
    mac = hmac.new(key, base.encode(), _DIGESTS[fields["oauth_signature_method"]])
    expected = base64.b64encode(mac.digest()).decode()
    return hmac.compare_digest(expected, fields.get("oauth_signature", ""))
