"""Provider webhooks accepted over HTTP: checked at once, delivered after, from a bounded queue.

``Intake.accept`` does what the provider waits for: it finds the environment and integration,
verifies the signature (``_signatures``) and reads the body as JSON, then queues the webhook
(a full queue refuses it: the provider retries later). One thread takes webhooks off the queue,
routes each to its connections (``_routing``) and starts the runs through the lifecycle's
``deliver_webhook``, the path ``DeliverWebhook`` takes too.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from corral import _providers
from corral.errors import CorralError, InvalidRequest, NotFound, Unauthenticated, Unavailable
from orchestrator.storage._types import Connection, Environment, Integration
from orchestrator.webhooks._routing import challenge, connection_ids, event_type
from orchestrator.webhooks._signatures import refusal

_log = structlog.get_logger("corral.webhooks")

QUEUE_SIZE = 256
"""Webhooks accepted and not yet delivered, at most; more are refused (503) until it drains."""

Deliver = Callable[[Environment, str, str, str, Any], Sequence[str]]
"""``Lifecycle.deliver_webhook``: (environment, integration, connection id, type, payload)."""


class WebhookStorage(Protocol):
    """What the intake reads of the store."""

    def get_environment(self, name: str) -> Environment:
        """An environment by name (NotFound)."""

    def get_integration(self, env_id: int, unique_key: str) -> Integration:
        """An integration (NotFound)."""

    def list_connections(self, env_id: int, integration_key: str | None = None) -> list[Connection]:
        """The integration's connections."""


@dataclass(frozen=True)
class _Webhook:
    env: Environment
    integration: str
    rule: Mapping[str, Any]
    event_type: str
    payload: Any


class Intake:
    """Accepts provider webhooks and delivers them in the background."""

    def __init__(
        self,
        storage: WebhookStorage,
        deliver: Deliver,
        *,
        queue_size: int = QUEUE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._deliver = deliver
        self._clock = clock
        self._queue: queue.Queue[_Webhook | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
        self._thread.start()

    def accept(
        self, environment: str, integration: str, headers: Mapping[str, str], body: bytes
    ) -> str | None:
        """Checks a webhook and queues it.

        Args:
            headers: the request's headers, names in lower case.

        Returns:
            None, or the answer to a verification request (Slack's ``url_verification``),
            which is not queued.

        Raises:
            NotFound: ``unknown_webhook``, no such environment or integration (the same
                answer for both, so that the endpoint tells nobody which names exist).
            Unauthenticated: ``invalid_webhook_signature``, the signature is missing or wrong.
            InvalidRequest: ``invalid_json``, the body is not JSON.
            Unavailable: ``webhook_queue_full``, too many webhooks wait already.
        """
        env, row = self._find(environment, integration)
        known = _providers.provider(row.provider)
        rule = known.webhook if known is not None else {}
        secret = str(row.auth_config.get("webhook_secret") or "")
        why = refusal(str(rule.get("signature") or ""), secret, headers, body, self._clock())
        if why:
            _log.warning("webhook refused", environment=env.name, integration=integration, why=why)
            raise Unauthenticated(why, code="invalid_webhook_signature")
        payload = _json(body)
        answer = challenge(rule, payload)
        if answer is not None:
            return answer
        hook = _Webhook(env, integration, rule, event_type(rule, headers, payload), payload)
        try:
            self._queue.put_nowait(hook)
        except queue.Full:
            raise Unavailable(
                "too many webhooks wait to be delivered; retry later", code="webhook_queue_full"
            ) from None
        return None

    def _find(self, environment: str, integration: str) -> tuple[Environment, Integration]:
        try:
            env = self._storage.get_environment(environment)
            return env, self._storage.get_integration(env.id, integration)
        except NotFound:
            raise NotFound(
                f"no webhook endpoint {environment}/{integration}", code="unknown_webhook"
            ) from None

    def close(self) -> None:
        """Delivers what is queued, then stops the thread (waits up to five seconds)."""
        try:
            self._queue.put(None, timeout=5)
        except queue.Full:
            return
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while (hook := self._queue.get()) is not None:
            try:
                self._deliver_one(hook)
            except CorralError as exc:  # the store went away, a connection was deleted...
                _log.warning("webhook not delivered", integration=hook.integration, why=exc.code)
            except Exception:  # the thread outlives one bad webhook; it is logged
                _log.exception("webhook not delivered", integration=hook.integration)

    def _deliver_one(self, hook: _Webhook) -> None:
        connections = self._storage.list_connections(hook.env.id, hook.integration)
        run_ids: list[str] = []
        for cid in connection_ids(hook.rule, hook.payload, connections):
            run_ids += self._deliver(hook.env, hook.integration, cid, hook.event_type, hook.payload)
        _log.info(
            "webhook delivered",
            environment=hook.env.name,
            integration=hook.integration,
            event_type=hook.event_type,
            runs=len(run_ids),
        )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRequest("the webhook's body is not JSON", code="invalid_json") from None
