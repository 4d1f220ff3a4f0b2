"""Fresh planner statistics for ``records`` while a large sync writes it.

PostgreSQL plans each lookup of a batch's ids from the table's statistics, which autovacuum
refreshes about a minute after much has changed. Until then a scope that grew by thousands of
records is still believed to hold almost none, and the plan reads the whole scope for every
batch: a sync saved again unchanged ran at half the speed of its first run, its batches
getting slower as the scope grew (9-13 ms for 100 ids over 20,000 records, against 3 ms once
analysed). So each process counts the records it writes and, past ``ANALYZE_AFTER_ROWS`` since
the last time, has ``ANALYZE records`` run on a thread of its own (it blocks no reader or
writer; one at a time per process).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

_log = structlog.get_logger("corral.storage")

ANALYZE_AFTER_ROWS = 10_000
"""Records written by this process between two analyses of the table."""


class Analyzer:
    """Runs ``analyze`` once ``threshold`` rows were written since its last start."""

    def __init__(self, analyze: Callable[[], None], threshold: int = ANALYZE_AFTER_ROWS) -> None:
        self._analyze = analyze
        self._threshold = threshold
        self._written = 0
        self._running = False
        self._lock = threading.Lock()

    def wrote(self, rows: int) -> None:
        """Counts ``rows`` written; starts an analysis when they reach the threshold."""
        with self._lock:
            self._written += rows
            if self._running or self._written < self._threshold:
                return
            self._written = 0
            self._running = True
        threading.Thread(target=self._run, name="records-analyze", daemon=True).start()

    def _run(self) -> None:
        try:
            self._analyze()
        except Exception as exc:  # a store going away: the next threshold tries again
            _log.info("records not analysed", error=str(exc))
        finally:
            with self._lock:
                self._running = False
