"""The SQL both engines use to find runs whose holder's lease expired.

``{now}`` is the engine's placeholder for the current time. A queued run that may be re-queued
(``requeue`` set: nobody waits on its orchestrator) is never ended by the sweep: another
orchestrator takes it over (``RunStore.take_over_runs``), since it never started.
"""

from __future__ import annotations

EXPIRED = (
    "state IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < {now})"
    " AND NOT (state = 'queued' AND requeue IS NOT NULL AND lease_until IS NOT NULL)"
)
"""The runs ``end_expired_runs`` ends."""

ORPHANED = "state = 'queued' AND requeue IS NOT NULL AND lease_until < {now}"
"""The runs ``take_over_runs`` takes over."""

REQUEUE_MARKS = ("run", "webhook")
"""``NewRun.requeue``: ``run``, rebuilt as a plain run of its function; ``webhook``, as the
sync's webhook handler with the stored input as the payload."""


def queries(now: str, lock: str = "") -> dict[str, str]:
    """The engine's lease queries, with ``now`` its placeholder (``?`` or ``%s``) and ``lock``
    what ends a locking select (PostgreSQL: ``FOR UPDATE SKIP LOCKED``): whether a run's lease
    expired (``any_expired``), those runs (``expired``), whether re-queueable ones wait
    (``any_orphaned``), and those (``orphaned``, one more placeholder: the limit)."""
    expired, orphaned = EXPIRED.format(now=now), ORPHANED.format(now=now)
    select = "SELECT id, run_id, requeue FROM runs WHERE"
    return {  # constant fragments only: nothing from input reaches the SQL text
        "any_expired": f"SELECT 1 FROM runs WHERE {expired} LIMIT 1",  # noqa: S608
        "expired": f"{select} {expired} ORDER BY id {lock}",
        "any_orphaned": f"SELECT 1 FROM runs WHERE {orphaned} LIMIT 1",  # noqa: S608
        "orphaned": f"{select} {orphaned} ORDER BY id LIMIT {now} {lock}",
    }
