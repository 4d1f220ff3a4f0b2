"""Sync result notifications waiting to be sent, kept in the store (``sync_notifications``).

The store makes a row when a sync run ends while its environment has a notification URL: a
trigger on the runs' state (migrations ``sqlite/0011``, ``postgresql/0010``), so every path that
ends a run (the runner's answer, a lease that expired, a restart that ends what a previous
process left) queues its notification in the same transaction, and a notification outlives the
orchestrator that ended the run. Each orchestrator's sender (``orchestrator.webhooks._notify``)
claims due rows for a while (``_due_rows``), then forgets a row (sent, refused, or out of tries)
or puts it off. A sender that dies holding a claim leaves the row to the next sender once the
claim runs out: a notification is sent at least once (receivers tell a repeat by its
``run_id``).
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.storage._due_rows import DueRows, DueTable
from orchestrator.storage._engine import C
from orchestrator.storage._types import DueNotification

_TABLE = DueTable(
    "sync_notifications",
    "run_pk",
    "SELECT w.run_pk, w.tries, r.run_id, r.env_id"
    " FROM sync_notifications AS w JOIN runs AS r ON r.id = w.run_pk WHERE {due}",
    "r.env_id",
)
_BY_RUN_ID = "run_pk = (SELECT id FROM runs WHERE run_id = ?)"


class RunNotifications(DueRows[C]):
    """The notifications of ended sync runs, waiting to be sent (``RunStore``'s)."""

    def claim_notifications(
        self,
        now: float,
        hold_seconds: float,
        limit: int,
        skip_environments: Sequence[int] = (),
    ) -> list[DueNotification]:
        """Up to ``limit`` due notifications (oldest due first) that no other sender holds,
        of none of ``skip_environments`` (those the caller is sending to already), each held
        for the caller until ``now + hold_seconds``. Times are seconds since the epoch.
        Finding none is a read only."""
        claimed = self._claim_due(_TABLE, now, hold_seconds, limit, skip_environments)
        return [
            DueNotification(str(row["run_id"]), int(row["env_id"]), int(row["tries"]))
            for row in claimed
        ]

    def notification_tried(self, run_id: str, retry_at: float | None) -> None:
        """The end of a claimed notification's try: with ``retry_at`` (seconds since the
        epoch) it is due again then, one more try counted and its claim dropped; with None
        (sent, refused, out of tries, or nowhere to send) it is forgotten."""
        self._tried(_TABLE, _BY_RUN_ID, run_id, retry_at)

    def notifications_waiting(self) -> int:
        """The notifications waiting to be sent (or sent again), of every environment."""
        return self._count_waiting(_TABLE)
