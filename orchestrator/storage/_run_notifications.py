"""Sync result notifications waiting to be sent, kept in the store (``sync_notifications``).

The store makes a row when a sync run ends while its environment has a notification URL: a
trigger on the runs' state (migrations ``sqlite/0011``, ``postgresql/0010``), so every path that
ends a run (the runner's answer, a lease that expired, a restart that ends what a previous
process left) queues its notification in the same transaction, and a notification outlives the
orchestrator that ended the run. Each orchestrator's sender (``orchestrator.webhooks._notify``)
claims due rows for a while (other senders skip them; PostgreSQL's ``SKIP LOCKED``, SQLite's
single writer), then forgets a row (sent, refused, or out of tries) or puts it off. A sender
that dies holding a claim leaves the row to the next sender once the claim runs out: a
notification is sent at least once (receivers tell a repeat by its ``run_id``).
"""

from __future__ import annotations

from orchestrator.storage._engine import C, EngineBase
from orchestrator.storage._types import DueNotification

_ANY_DUE = """
SELECT 1 FROM sync_notifications
WHERE due_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?) LIMIT 1
"""
_DUE = """
SELECT n.run_pk, n.tries, r.run_id, r.env_id
FROM sync_notifications AS n JOIN runs AS r ON r.id = n.run_pk
WHERE n.due_at <= ? AND (n.claimed_until IS NULL OR n.claimed_until <= ?)
ORDER BY n.due_at, n.run_pk LIMIT ?
"""
_FORGET = "DELETE FROM sync_notifications WHERE run_pk = (SELECT id FROM runs WHERE run_id = ?)"
_PUT_OFF = """
UPDATE sync_notifications SET tries = tries + 1, due_at = ?, claimed_until = NULL
WHERE run_pk = (SELECT id FROM runs WHERE run_id = ?)
"""


class RunNotifications(EngineBase[C]):
    """The notifications of ended sync runs, waiting to be sent (``RunStore``'s)."""

    def claim_notifications(
        self, now: float, hold_seconds: float, limit: int
    ) -> list[DueNotification]:
        """Up to ``limit`` due notifications (oldest due first) that no other sender holds,
        each held for the caller until ``now + hold_seconds``. Times are seconds since the
        epoch. Finding none is a read only."""
        if self._read_one(_ANY_DUE, (now, now)) is None:
            return []
        lock = " FOR NO KEY UPDATE OF n SKIP LOCKED" if self._row_lock else ""
        with self._write() as conn:
            rows = self._fetch_all(conn, _DUE + lock, (now, now, limit))
            marks = ", ".join("?" for _ in rows)
            if rows:
                self._exec(
                    conn,
                    f"UPDATE sync_notifications SET claimed_until = ? WHERE run_pk IN ({marks})",  # noqa: S608 - placeholders only
                    (now + hold_seconds, *(int(row["run_pk"]) for row in rows)),
                )
        return [
            DueNotification(str(row["run_id"]), int(row["env_id"]), int(row["tries"]))
            for row in rows
        ]

    def notification_tried(self, run_id: str, retry_at: float | None) -> None:
        """The end of a claimed notification's try: with ``retry_at`` (seconds since the
        epoch) it is due again then, one more try counted and its claim dropped; with None
        (sent, refused, out of tries, or nowhere to send) it is forgotten."""
        with self._write() as conn:
            if retry_at is None:
                self._exec(conn, _FORGET, (run_id,))
            else:
                self._exec(conn, _PUT_OFF, (retry_at, run_id))
