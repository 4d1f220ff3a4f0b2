"""Sync result notifications: when a sync run ends, its outcome is POSTed to the environment's
``notifications.url``, signed, retried with backoff, off the run's path.

The body is JSON: ``{"type": "sync.run.ended", "run_id", "environment", "integration",
"sync", "connection_id", "success", "error": {"type", "message"} | null, "started_at",
"finished_at", "models": {"Model": {"added", "updated", "deleted"}}}``. Two headers sign it
with the environment's notification secret (``corral env notification-secret``):
``X-Corral-Timestamp`` (seconds since the epoch) and ``X-Corral-Signature: v1=<hex
HMAC-SHA256 of "<timestamp>.<body>">``; a receiver recomputes it, compares in constant time,
and refuses old timestamps.

The POST goes through the proxy's egress guard (``orchestrator.proxy._egress``): a private or
loopback address is refused unless the server allows them, and redirects are not followed.
Network errors, 429 and 5xx are retried ``ATTEMPTS`` times in all, waiting ``BACKOFF_SECONDS``
doubling between tries; any other answer ends the delivery. Notifications wait in the store
(``orchestrator.storage._run_notifications``), queued by the update that ended the run, so
they outlive the orchestrator that ended it and are sent by whichever orchestrator of the
database claims them first; the run never waits. The body is made when it is sent, from the
stored run and its record counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx
import structlog

from corral._error_shapes import from_json, to_json
from orchestrator.proxy._egress import EgressDenied, EgressPolicy
from orchestrator.storage._areas import RecordStore, RunStore, TenantStore
from orchestrator.storage._types import DueNotification, Run
from orchestrator.webhooks._workers import StoreWorkers, Tries

_log = structlog.get_logger("corral.notifications")

ATTEMPTS = 5
"""Tries per notification, the first included."""

BACKOFF_SECONDS = 2.0
"""The wait before the second try; doubled before each next one (2, 4, 8, 16 s)."""

TIMEOUT_SECONDS = 10.0
"""How long one try may take."""

POLL_SECONDS = 1.0
"""How often each orchestrator looks at the store for due notifications."""

SENDERS = 4
"""Threads that send at once, each to another environment: an environment whose receiver is
slow holds one of them, never the others' notifications."""

HOLD_SECONDS = TIMEOUT_SECONDS * 3
"""How long a claimed notification is the claiming sender's (longer than a try can take):
another sender takes it over after that."""

SIGNATURE_HEADER = "X-Corral-Signature"
TIMESTAMP_HEADER = "X-Corral-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Corral-Signature`` value of ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def outcome(run: Run, environment: str, models: Mapping[str, Mapping[str, int]]) -> bytes:
    """The notification body of a sync run that ended."""
    error = None if run.error is None else to_json(from_json(run.error), form="brief")
    body = {
        "type": "sync.run.ended",
        "run_id": run.run_id,
        "environment": environment,
        "integration": run.integration_key,
        "sync": run.function_name,
        "connection_id": run.connection_id,
        "success": run.state == "succeeded",
        "error": error,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "models": {name: dict(counts) for name, counts in sorted(models.items())},
    }
    return json.dumps(body, ensure_ascii=False).encode()


def destination(settings: Mapping[str, Any]) -> tuple[str, str]:
    """The environment's notification URL and secret (``("", "")``: none set)."""
    chosen = settings.get("notifications")
    if not isinstance(chosen, Mapping):
        return "", ""
    return str(chosen.get("url") or ""), str(chosen.get("secret") or "")


class NotificationStore(RunStore, TenantStore, RecordStore, Protocol):
    """What the sender reads and writes of the store: the notifications waiting, and the runs,
    environments and record counts they tell (``orchestrator.storage``'s areas)."""


class Notifier:
    """Sends the store's due sync result notifications from a thread of its own."""

    def __init__(
        self,
        http: httpx.Client,
        egress: EgressPolicy,
        store: NotificationStore,
        *,
        backoff_seconds: float = BACKOFF_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        http: the client to send with (the proxy's, whose transport pins checked addresses).
        egress: the policy URLs are checked against before each try.
        store: where the notifications wait, and the runs, environments and counts they tell.
        backoff_seconds: the wait before the second try (doubled before each next one).
        poll_seconds: how often the store is looked at for due notifications (another
            orchestrator's, or ones put off); a run that ends here wakes the sender at once.
        clock: seconds since the epoch (every orchestrator's due times are compared on it).
        """
        self._http = http
        self._egress = egress
        self._store = store
        self._clock = clock
        self._workers = StoreWorkers(
            "sync notifications",
            lambda now, skip: store.claim_notifications(now, HOLD_SECONDS, 1, skip),
            self._try,
            lambda notification, retry_at: store.notification_tried(notification.run_id, retry_at),
            tries=Tries(ATTEMPTS, backoff_seconds),
            threads=SENDERS,
            poll_seconds=poll_seconds,
            clock=clock,
        )

    def run_ended(self, run: Run) -> None:
        """Looks for due notifications now when a sync run ended (its notification, if its
        environment has a URL, was queued in the store by the update that ended it)."""
        if run.kind == "sync":
            self._workers.wakeup.wake()

    def close(self) -> None:
        """Stops sending (what waits stays in the store, for the next sender)."""
        self._workers.close(TIMEOUT_SECONDS + 1)

    def _try(self, notification: DueNotification, attempt: int) -> bool:
        """Sends the notification once (nothing when its environment has no URL or secret
        now); whether another try may help. A failure on our side (the store away, a secret
        that cannot be opened) raises: it counts as a try (``StoreWorkers``)."""
        run = self._store.get_run(notification.env_id, notification.run_id)
        env = self._store.get_environment_by_id(notification.env_id)
        url, secret = destination(env.settings)
        if not (url and secret):
            return False
        body = outcome(run, env.name, self._store.record_counts(run.run_id))
        return self._send(url, secret, body, run.run_id, attempt)

    def _send(self, url: str, secret: str, body: bytes, run_id: str, attempt: int) -> bool:
        """One try; whether another may help."""
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            self._egress.check_url(url)
            answer = self._http.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
        except EgressDenied as exc:
            _log.warning("sync notification refused by egress", run_id=run_id, why=exc.reason)
            return False
        except (httpx.HTTPError, OSError) as exc:
            _log.info(
                "sync notification failed",
                run_id=run_id,
                attempt=attempt,
                error=type(exc).__name__,
            )
            return True
        retry = answer.status_code == 429 or answer.status_code >= 500
        _log.info(
            "sync notification sent", run_id=run_id, attempt=attempt, status=answer.status_code
        )
        return retry
