"""Provider webhook signatures: right ones pass, everything else is refused with a reason."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from orchestrator.webhooks import REPLAY_WINDOW_SECONDS, refusal

SECRET = "s3cret"
BODY = b'{"action": "opened"}'
NOW = 1_760_000_000.0


def _github(body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}"}


def _slack(stamp: float = NOW, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    base = f"v0:{int(stamp)}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"x-slack-signature": f"v0={digest}", "x-slack-request-timestamp": str(int(stamp))}


def test_right_signatures_pass() -> None:
    assert refusal("github", SECRET, _github(), BODY, NOW) == ""
    assert refusal("slack", SECRET, _slack(), BODY, NOW) == ""
    edge = NOW - REPLAY_WINDOW_SECONDS
    assert refusal("slack", SECRET, _slack(edge), BODY, NOW) == ""


@pytest.mark.parametrize(
    ("scheme", "headers", "why"),
    [
        ("github", {}, "no X-Hub-Signature-256"),
        ("github", _github(b"{}"), "does not match"),
        ("github", _github(secret="other"), "does not match"),
        ("github", {"x-hub-signature-256": "sha1=abc"}, "does not match"),
        ("slack", {}, "no X-Slack-Signature"),
        ("slack", _slack(NOW - REPLAY_WINDOW_SECONDS - 1), "five minutes"),
        ("slack", _slack(NOW + REPLAY_WINDOW_SECONDS + 1), "five minutes"),
        ("slack", {**_slack(), "x-slack-request-timestamp": "-1"}, "five minutes"),
        ("slack", {**_slack(), "x-slack-request-timestamp": str(int(NOW) + 1)}, "does not match"),
        ("slack", _slack(body=b"{}"), "does not match"),
        ("", _github(), "cannot be verified"),
        ("md5", _github(), "cannot be verified"),
    ],
)
def test_everything_else_is_refused(scheme: str, headers: dict[str, str], why: str) -> None:
    reason = refusal(scheme, SECRET, headers, BODY, NOW)
    assert why in reason
    assert SECRET not in reason


def test_an_integration_without_a_secret_verifies_nothing() -> None:
    assert "no webhook_secret" in refusal("github", "", _github(secret=""), BODY, NOW)
