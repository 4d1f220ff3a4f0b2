"""Keeps this orchestrator's runs' leases alive: renewed on a thread every third of a lease,
so a live orchestrator's runs never count as lost (``take_over_runs``, ``end_expired_runs``)."""

from __future__ import annotations

import threading

import structlog

from orchestrator.storage._needs import RunStorage

_log = structlog.get_logger("corral.runs")

LEASE_RENEWALS = 3
"""Renewals per lease: the leases are renewed every ``lease / LEASE_RENEWALS`` (10 s by
default), so two renewals may fail before a live orchestrator's runs count as lost."""


class LeaseRenewal:
    """Renews the leases of ``owner``'s unfinished runs, from ``start`` until ``stop``."""

    def __init__(self, storage: RunStorage, owner: str, lease_seconds: float) -> None:
        self._storage = storage
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Starts the renewals, on a thread."""
        self._thread = threading.Thread(target=self._loop, name="run-leases", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._lease_seconds / LEASE_RENEWALS):
            try:
                self._storage.renew_leases(self._owner, self._lease_seconds)
            except Exception:  # a store away for a while: the next renewal tries again
                _log.warning("renewing run leases failed", exc_info=True)

    def stop(self) -> None:
        """Stops the renewals (waiting at most 5 s for a renewal under way)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
