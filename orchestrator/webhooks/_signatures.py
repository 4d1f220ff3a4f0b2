"""Provider webhook signatures: whether a request came from the provider.

The catalogue's ``webhook.signature`` names the scheme; the secret is the integration's
``webhook_secret`` (its auth config, sealed at rest). Every comparison is constant-time, and a
refusal names what was wrong without repeating a header or the secret.

- ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``.
- ``slack``: ``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">`` with
  ``X-Slack-Request-Timestamp`` at most ``REPLAY_WINDOW_SECONDS`` from now (a replayed request
  is refused even when its signature is right).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping

REPLAY_WINDOW_SECONDS = 300.0
"""How far a Slack request's timestamp may be from now (Slack's own advice: five minutes)."""

_STAMP = re.compile(r"[0-9]{1,12}")
"""A Unix time in seconds: ASCII digits (``str.isdigit`` and ``int`` take any Unicode digit)."""

Headers = Mapping[str, str]
"""Request headers, their names in lower case."""

Check = Callable[[bytes, Headers, bytes, float], str]
"""A scheme: (secret, headers, body, now) -> why the request is refused ("" when it is not)."""


def _hex_hmac(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _github(secret: bytes, headers: Headers, body: bytes, now: float) -> str:
    del now  # GitHub signs no timestamp
    given = headers.get("x-hub-signature-256", "")
    if not given:
        return "no X-Hub-Signature-256 header"
    if not _same(given, "sha256=" + _hex_hmac(secret, body)):
        return "the X-Hub-Signature-256 signature does not match"
    return ""


def _slack(secret: bytes, headers: Headers, body: bytes, now: float) -> str:
    given = headers.get("x-slack-signature", "")
    stamp = headers.get("x-slack-request-timestamp", "")
    if not given or not stamp:
        return "no X-Slack-Signature or X-Slack-Request-Timestamp header"
    if not _STAMP.fullmatch(stamp) or abs(now - int(stamp)) > REPLAY_WINDOW_SECONDS:
        return "the X-Slack-Request-Timestamp is not within five minutes of now"
    expected = "v0=" + _hex_hmac(secret, b"v0:" + stamp.encode() + b":" + body)
    if not _same(given, expected):
        return "the X-Slack-Signature signature does not match"
    return ""


SCHEMES: Mapping[str, Check] = {"github": _github, "slack": _slack}
"""The signature schemes the catalogue may name."""


def refusal(scheme: str, secret: str, headers: Headers, body: bytes, now: float) -> str:
    """Why a webhook request is refused, or ``""`` when its signature is right.

    Args:
        scheme: the catalogue's ``webhook.signature`` (an unknown or empty one refuses all:
            a request that cannot be verified runs nothing).
        secret: the integration's ``webhook_secret`` (empty refuses all).
        headers: the request's headers, names in lower case.
        body: the request's body, as received.
        now: the time, in seconds since the epoch.
    """
    check = SCHEMES.get(scheme)
    if check is None:
        return "the provider's webhooks cannot be verified (no signature scheme in the catalogue)"
    if not secret:
        return "the integration has no webhook_secret to verify its webhooks with"
    return check(secret.encode(), headers, body, now)
