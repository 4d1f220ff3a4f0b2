"""Provider webhooks accepted over HTTP: checked at once, stored, delivered after.

``Intake.accept`` does what the provider waits for: it finds the environment and integration,
verifies the signature (``_signatures``) and reads the body as JSON, then stores the webhook
(``orchestrator.storage._webhook_inbox``; an environment with ``MAX_WAITING`` waiting is refused,
503: the provider retries later). Only then does the provider get its answer, so an accepted
webhook outlives this process. ``DELIVERERS`` threads (``_workers``) claim the store's due
webhooks (this process's, or those of an orchestrator of the same database that died), one
environment's at a time each and in the order they came, route each to its connections
(``_routing``) and start the runs through the lifecycle's ``deliver_webhook``, the path
``DeliverWebhook`` takes too, then forget it. A delivery that fails for a while (the store
away) is tried again, ``ATTEMPTS`` times in all; one refused for good (the integration or
connection deleted meanwhile) is logged and forgotten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import structlog

from corral import _json as _strict
from corral import _providers
from corral.errors import CorralError, InvalidRequest, NotFound, Unauthenticated, Unavailable
from orchestrator import _fields as fields
from orchestrator.storage._areas import ConnectionStore, TenantStore
from orchestrator.storage._types import Environment, Integration, QueuedWebhook
from orchestrator.webhooks._routing import challenge, connection_ids, event_type
from orchestrator.webhooks._signatures import refusal
from orchestrator.webhooks._workers import StoreWorkers, Tries

_log = structlog.get_logger("corral.webhooks")

MAX_WAITING = 256
"""Webhooks accepted and not yet delivered per environment, at most; more are refused (503)
until they drain."""

POLL_SECONDS = 1.0
"""How often each orchestrator looks at the store for webhooks it did not accept itself (or
put off); one accepted here wakes the deliverer at once."""

HOLD_SECONDS = 60.0
"""How long a claimed webhook is the claiming deliverer's (longer than a delivery takes: it
starts runs, it does not wait for them); another takes it over after that."""

DELIVERERS = 4
"""Threads that deliver at once, each for another environment: an environment whose webhooks
start many runs holds one of them, never the others' webhooks."""

ATTEMPTS = 5
"""Tries of a delivery that fails for a while (the store away), the first included."""

BACKOFF_SECONDS = 2.0
"""The wait before the second try; doubled before each next one."""

Deliver = Callable[[Environment, str, str, str, Any], Sequence[str]]
"""``Lifecycle.deliver_webhook``: (environment, integration, connection id, type, payload)."""


class WebhookStorage(TenantStore, ConnectionStore, Protocol):
    """What the intake reads and writes of the store: environments, integrations, their
    connections and the webhooks waiting (``orchestrator.storage``'s areas)."""


class Intake:
    """Accepts provider webhooks into the store and delivers the store's due ones."""

    def __init__(
        self,
        storage: WebhookStorage,
        deliver: Deliver,
        *,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = POLL_SECONDS,
        hold_seconds: float = HOLD_SECONDS,
        backoff_seconds: float = BACKOFF_SECONDS,
    ) -> None:
        """Args:
        storage: where webhooks wait, and the environments, integrations and connections.
        deliver: starts a webhook's runs for one connection.
        clock: seconds since the epoch (signatures' timestamps, and every orchestrator's
            claims, are compared on it).
        poll_seconds, hold_seconds, backoff_seconds: as ``POLL_SECONDS``, ``HOLD_SECONDS``,
            ``BACKOFF_SECONDS``.
        """
        self._storage = storage
        self._deliver = deliver
        self._clock = clock
        self._workers = StoreWorkers(
            "webhooks",
            lambda now, skip: storage.claim_webhooks(now, hold_seconds, 1, skip),
            self._attempt,
            lambda hook, retry_at: storage.webhook_tried(hook.webhook_id, retry_at),
            tries=Tries(ATTEMPTS, backoff_seconds),
            threads=DELIVERERS,
            poll_seconds=poll_seconds,
            clock=clock,
        )

    def accept(
        self, environment: str, integration: str, headers: Mapping[str, str], body: bytes
    ) -> str | None:
        """Checks a webhook and stores it for delivery.

        Args:
            headers: the request's headers, names in lower case.

        Returns:
            None, or the answer to a verification request (Slack's ``url_verification``),
            which is not stored.

        Raises:
            NotFound: ``unknown_webhook``, no such environment or integration (the same
                answer for both, so that the endpoint tells nobody which names exist).
            Unauthenticated: ``invalid_webhook_signature``, the signature is missing or wrong.
            InvalidRequest: ``invalid_json``, the body is not JSON; ``invalid_name``, its
                event type (a header) is not printable text of at most 255 characters.
            Unavailable: ``webhook_queue_full``, too many of the environment's webhooks wait
                already; or the store cannot take it now.
        """
        env, row = self._find(environment, integration)
        rule = _rule(row)
        secret = str(row.auth_config.get("webhook_secret") or "")
        why = refusal(str(rule.get("signature") or ""), secret, headers, body, self._clock())
        if why:
            _log.warning("webhook refused", environment=env.name, integration=integration, why=why)
            raise Unauthenticated(why, code="invalid_webhook_signature")
        payload = _json(body)
        answer = challenge(rule, payload)
        if answer is not None:
            return answer
        kind = event_type(rule, headers, payload)
        if kind:  # a header: unsigned, stored with the webhook
            fields.name(kind, "the webhook's event type")
        stored = self._storage.queue_webhook(
            env.id, integration, kind, _strict.compact(payload), now=self._clock(), most=MAX_WAITING
        )
        if not stored:
            raise Unavailable(
                "too many webhooks wait to be delivered; retry later", code="webhook_queue_full"
            )
        self._workers.wakeup.wake()
        return None

    def _find(self, environment: str, integration: str) -> tuple[Environment, Integration]:
        try:
            fields.name(environment, "environment")  # no stored name holds what it refuses
            fields.name(integration, "integration")
            env = self._storage.get_environment(environment)
            return env, self._storage.get_integration(env.id, integration)
        except (NotFound, InvalidRequest):
            raise NotFound(
                f"no webhook endpoint {environment!r}/{integration!r}", code="unknown_webhook"
            ) from None

    def close(self) -> None:
        """Stops delivering once the deliveries in progress end (waits up to five seconds);
        what waits stays in the store for the next start or another orchestrator."""
        self._workers.close(5.0)

    def _attempt(self, hook: QueuedWebhook, attempt: int) -> bool:
        """One delivery; whether another may help (the store went away: it may come back)."""
        try:
            self._deliver_one(hook)
        except Unavailable as exc:
            _log.warning(
                "webhook not delivered",
                integration=hook.integration_key,
                why=exc.code,
                attempt=attempt,
            )
            return True
        except CorralError as exc:  # a connection deleted meanwhile...: for good
            _log.warning("webhook not delivered", integration=hook.integration_key, why=exc.code)
        except Exception:  # one bad webhook is logged and forgotten
            _log.exception("webhook not delivered", integration=hook.integration_key)
        return False

    def _deliver_one(self, hook: QueuedWebhook) -> None:
        env = self._storage.get_environment_by_id(hook.env_id)
        rule = _rule(self._storage.get_integration(env.id, hook.integration_key))
        payload = json.loads(hook.payload)  # as stored: read strictly when it was accepted
        connections = self._storage.list_connections(env.id, hook.integration_key)
        run_ids: list[str] = []
        for cid in connection_ids(rule, payload, connections):
            run_ids += self._deliver(env, hook.integration_key, cid, hook.event_type, payload)
        _log.info(
            "webhook delivered",
            environment=env.name,
            integration=hook.integration_key,
            event_type=hook.event_type,
            runs=len(run_ids),
        )


def _rule(integration: Integration) -> Mapping[str, Any]:
    """The catalogue's ``webhook`` block of the integration's provider (none: ``{}``)."""
    known = _providers.provider(integration.provider)
    return known.webhook if known is not None else {}


def _json(body: bytes) -> Any:
    """The body's JSON, read as every boundary reads JSON (``corral._json``: UTF-8, no
    ``NaN`` or infinity, no lone surrogate, nested 128 levels at most), as ``DeliverWebhook``
    reads its payload: what is stored and handed to the handlers is JSON every parser takes.

    Raises:
        InvalidRequest: ``invalid_json``.
    """
    if not body:
        raise InvalidRequest("the webhook's body is not JSON: it is empty", code="invalid_json")
    return _strict.loads(body, what="the webhook's body")
