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
doubling between tries; any other answer ends the delivery. Deliveries wait in a bounded
queue: when it is full, the notification is dropped and logged, and the run never waits.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from corral._error_shapes import from_json, to_json
from orchestrator.proxy._egress import EgressDenied, EgressPolicy
from orchestrator.storage._types import Environment, Run
from orchestrator.webhooks._tally import RunTally

_log = structlog.get_logger("corral.notifications")

ATTEMPTS = 5
"""Tries per notification, the first included."""

BACKOFF_SECONDS = 2.0
"""The wait before the second try; doubled before each next one (2, 4, 8, 16 s)."""

TIMEOUT_SECONDS = 10.0
"""How long one try may take."""

MAX_PENDING = 1024
"""Notifications waiting to be sent (or sent again) at most; more are dropped and logged."""

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


@dataclass(frozen=True)
class _Delivery:
    url: str
    secret: str
    body: bytes
    run_id: str
    attempt: int = 1


class Notifier:
    """Sends sync result notifications from a thread of its own."""

    def __init__(
        self,
        http: httpx.Client,
        egress: EgressPolicy,
        tally: RunTally,
        environment: Callable[[int], Environment],
        *,
        backoff_seconds: float = BACKOFF_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        http: the client to send with (the proxy's, whose transport pins checked addresses).
        egress: the policy URLs are checked against before each try.
        tally: the runs' record counts (the store's) and requests.
        environment: an environment by id (its settings say where to send).
        """
        self._http = http
        self._egress = egress
        self._tally = tally
        self._environment = environment
        self._backoff = backoff_seconds
        self._clock = clock
        self._due: list[tuple[float, int, _Delivery]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="notifications", daemon=True)
        self._thread.start()

    def run_ended(self, run: Run) -> None:
        """Queues the notification of a sync run that ended (never raises: a run's end is
        never held up or failed by its notification)."""
        try:
            if run.kind != "sync":
                return
            self._tally.ended(run.run_id)
            env = self._environment(run.env_id)
            url, secret = destination(env.settings)
            if url and secret:  # the store's counts are read only for a notification
                models = self._tally.record_counts(run.run_id)
                body = outcome(run, env.name, models)
                self._queue(_Delivery(url, secret, body, run.run_id), 0)
        except Exception:  # the run ended all the same; its notification is lost, and logged
            _log.exception("sync notification not queued", run_id=run.run_id)

    def close(self) -> None:
        """Stops sending (what waits is dropped)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._thread.join(timeout=TIMEOUT_SECONDS + 1)

    def _queue(self, delivery: _Delivery, delay: float) -> None:
        with self._changed:
            if len(self._due) >= MAX_PENDING:
                _log.warning("sync notification dropped: too many pending", run_id=delivery.run_id)
                return
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), delivery))
            self._changed.notify()

    def _next(self) -> _Delivery | None:
        with self._changed:
            while not self._stopped:
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is not None and wait <= 0:
                    return heapq.heappop(self._due)[2]
                self._changed.wait(wait)
            return None

    def _loop(self) -> None:
        while (delivery := self._next()) is not None:
            if self._send(delivery) and delivery.attempt < ATTEMPTS:
                delay = self._backoff * 2 ** (delivery.attempt - 1)
                retry = _Delivery(**{**delivery.__dict__, "attempt": delivery.attempt + 1})
                self._queue(retry, delay)

    def _send(self, delivery: _Delivery) -> bool:
        """One try; whether another may help."""
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(delivery.secret, timestamp, delivery.body),
        }
        try:
            self._egress.check_url(delivery.url)
            answer = self._http.post(
                delivery.url, content=delivery.body, headers=headers, timeout=TIMEOUT_SECONDS
            )
        except EgressDenied as exc:
            _log.warning(
                "sync notification refused by egress", run_id=delivery.run_id, why=exc.reason
            )
            return False
        except (httpx.HTTPError, OSError) as exc:
            _log.info(
                "sync notification failed",
                run_id=delivery.run_id,
                attempt=delivery.attempt,
                error=type(exc).__name__,
            )
            return True
        retry = answer.status_code == 429 or answer.status_code >= 500
        _log.info(
            "sync notification sent",
            run_id=delivery.run_id,
            attempt=delivery.attempt,
            status=answer.status_code,
        )
        return retry
