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

REQUEUE_RUN = "run"
"""``NewRun.requeue`` of a run rebuilt as a plain run of its function."""
REQUEUE_WEBHOOK = "webhook"
"""``NewRun.requeue`` of a run rebuilt as the sync's webhook handler, the stored input being
the payload."""


def queries(now: str) -> dict[str, str]:
    """The lease queries with ``now`` the placeholder (``?`` in the shared SQL of
    ``_area_runs``): whether a run's lease expired (``any_expired``), ending those runs
    (``end_expired``, two more placeholders first: the error and the time), whether re-queueable
    runs wait (``any_orphaned``), and those (``orphaned``, one more placeholder: the limit; an
    engine that locks rows appends its lock)."""
    expired, orphaned = EXPIRED.format(now=now), ORPHANED.format(now=now)
    select = "SELECT id, run_id, requeue FROM runs WHERE"
    return {  # constant fragments only: nothing from input reaches the SQL text
        "any_expired": f"SELECT 1 FROM runs WHERE {expired} LIMIT 1",  # noqa: S608
        "end_expired": (
            f"UPDATE runs SET state = 'failed', error = {now}, finished_at = {now}"  # noqa: S608
            f" WHERE {expired} RETURNING id, run_id"
        ),
        "any_orphaned": f"SELECT 1 FROM runs WHERE {orphaned} LIMIT 1",  # noqa: S608
        "orphaned": f"{select} {orphaned} ORDER BY id LIMIT {now}",
    }
