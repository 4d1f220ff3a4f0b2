"""Provider webhooks accepted and not yet delivered, kept in the store (``webhook_inbox``).

The webhook endpoint answers a provider only once its webhook is stored here
(``orchestrator.webhooks._intake``), so an accepted webhook outlives the orchestrator that
accepted it: whichever orchestrator of the database claims it first (``_due_rows``) delivers it,
and one that dies while delivering leaves it to the next once its claim runs out (delivered at
least once, as providers deliver). An environment holds ``most`` waiting webhooks at most (the
count and the insert are one transaction; on PostgreSQL two accepts at once may pass it by
one each).
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.storage._due_rows import DueRows, DueTable
from orchestrator.storage._engine import C
from orchestrator.storage._types import QueuedWebhook

_TABLE = DueTable(
    "webhook_inbox",
    "id",
    "SELECT w.id, w.env_id, w.integration_key, w.event_type, w.payload, w.tries"
    " FROM webhook_inbox AS w WHERE {due}",
    "w.env_id",
)
_INSERT = (
    "INSERT INTO webhook_inbox (env_id, integration_key, event_type, payload, received_at)"
    " VALUES (?, ?, ?, ?, ?)"
)


class WebhookInbox(DueRows[C]):
    """Accepted webhooks waiting to be delivered (``ConnectionStore``'s)."""

    def queue_webhook(
        self,
        env_id: int,
        integration_key: str,
        event_type: str,
        payload: str,
        *,
        now: float,
        most: int,
    ) -> bool:
        """Stores an accepted webhook, due at once; False (nothing stored) when the
        environment has ``most`` waiting already."""
        with self._write() as conn:
            row = self._fetch_one(
                conn, "SELECT count(*) AS n FROM webhook_inbox WHERE env_id = ?", (env_id,)
            )
            if row is not None and int(row["n"]) >= most:
                return False
            self._exec(conn, _INSERT, (env_id, integration_key, event_type, payload, now))
        return True

    def claim_webhooks(
        self,
        now: float,
        hold_seconds: float,
        limit: int,
        skip_environments: Sequence[int] = (),
    ) -> list[QueuedWebhook]:
        """Up to ``limit`` due webhooks (oldest due first, then oldest accepted) that no other
        deliverer holds, of none of ``skip_environments``, each held for the caller until
        ``now + hold_seconds``."""
        return [
            QueuedWebhook(
                int(row["id"]),
                int(row["env_id"]),
                str(row["integration_key"]),
                str(row["event_type"]),
                str(row["payload"]),
                int(row["tries"]),
            )
            for row in self._claim_due(_TABLE, now, hold_seconds, limit, skip_environments)
        ]

    def webhook_tried(self, webhook_id: int, retry_at: float | None) -> None:
        """The end of a claimed webhook's delivery: due again at ``retry_at``, one more try
        counted, or (None: delivered, or refused for good) forgotten."""
        self._tried(_TABLE, "id = ?", webhook_id, retry_at)

    def webhooks_waiting(self) -> int:
        """The webhooks accepted and not yet delivered, of every environment."""
        return self._count_waiting(_TABLE)
