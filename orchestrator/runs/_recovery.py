"""Recovery at start: no run is left ``running`` by a process that is gone.

A ``corral serve`` that died (kill -9, a crash, the machine going down) leaves its queued and
running runs unfinished in the store, with nobody to end them. When the next one starts on the
same data directory, before its scheduler and its API do, it ends each of them as failed with
the error type ``orchestrator_restarted`` and drops their deletion tracking
(``RunStore.end_unfinished_runs``, one transaction). A sync's schedule, which never starts a
second run while its last one is unfinished, then fires again at its next slot: once at start
when that slot passed while nobody served (never once per missed slot), else at the slot.

Several orchestrators on one PostgreSQL database cannot end every unfinished run at start (the
others' runs are alive). There each run has a lease: the orchestrator that created it (its
``owner``, random per process) renews the leases of its unfinished runs, and every orchestrator
sweeps, at start and on each scheduler tick, the runs whose lease expired, ending them with the
error type ``orchestrator_lost`` (``end_lost_runs``).
"""

from __future__ import annotations

import structlog

from corral._error_shapes import ErrorValue, to_json
from orchestrator.storage._areas import RunStore

_log = structlog.get_logger("corral.runs")

LOST = "orchestrator_lost"
"""The error type of a run whose orchestrator's lease expired (that orchestrator died)."""

_LOST_MESSAGE = (
    "the orchestrator that ran this run stopped renewing its lease (its process or machine is "
    "gone); the run did not finish and its deletion tracking was dropped"
)

RESTARTED = "orchestrator_restarted"
"""The error type of a run that a previous orchestrator process left unfinished."""

_MESSAGE = (
    "the orchestrator stopped before the run ended (its process is gone) and was started "
    "again; the run did not finish and its deletion tracking was dropped"
)


def end_interrupted_runs(storage: RunStore) -> list[str]:
    """Ends every run a previous process left queued or running; returns their ids.

    Call it once at start, before anything can start a run: every unfinished run in the store
    is then one of a process that is gone. Logs one line with how many were ended.
    """
    error = to_json(ErrorValue(RESTARTED, _MESSAGE), form="compact")
    ended = storage.end_unfinished_runs(error)
    _log.info("interrupted runs ended", count=len(ended), error_type=RESTARTED)
    return ended


def end_lost_runs(storage: RunStore) -> list[str]:
    """Ends every run whose lease expired (its orchestrator died) as failed with the error type
    ``orchestrator_lost``; returns their ids. Safe to call at any time, from any orchestrator
    sharing the store: a live orchestrator renews its runs' leases. Logs when it ended some."""
    ended = storage.end_expired_runs(to_json(ErrorValue(LOST, _LOST_MESSAGE), form="compact"))
    if ended:
        _log.warning("runs of a lost orchestrator ended", count=len(ended), error_type=LOST)
    return ended
