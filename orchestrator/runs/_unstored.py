"""Run outcomes the store refused (a full disk): kept in memory and stored once it can write.

A run that ended while the store could not write (``storage_unavailable``: a full or
read-only disk) would stay ``running`` forever. Its outcome is kept here instead, at most
``MAX_KEPT`` of them, and a daemon thread tries to store each again: after
``FIRST_RETRY_SECONDS``, then twice as long each time nothing could be stored, up to
``MAX_RETRY_SECONDS``. At shutdown, ``stop``
tries once more; a run still not stored is ended by the next start's recovery
(``orchestrator_restarted``), as are outcomes dropped beyond the bound (each one logged).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

_log = structlog.get_logger("corral.runs")

MAX_KEPT = 1000
"""Outcomes kept at most; a later one is dropped (logged) and left to recovery at next start."""
FIRST_RETRY_SECONDS = 1.0
"""Seconds before the first retry after an outcome could not be stored."""
MAX_RETRY_SECONDS = 30.0
"""The longest pause between two retries."""

Store = Callable[[], object]
"""Stores one run's outcome; raises when the store still refuses it."""


class UnstoredOutcomes:
    """Outcomes that wait for the store, by run id, retried on a daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, Store] = {}
        self._wake = threading.Condition(self._lock)
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._attempting = threading.Lock()
        """Held while outcomes are stored: ``stop`` waits for the retry thread's attempt."""

    def keep(self, run_id: str, store: Store) -> bool:
        """Keeps a run's outcome for the retries; False when it was dropped (bound or stopped)."""
        with self._lock:
            if self._stopped or len(self._kept) >= MAX_KEPT:
                _log.error(
                    "run outcome dropped: too many outcomes wait for the store",
                    run_id=run_id,
                    kept=len(self._kept),
                    hint="the run is ended at the next start (orchestrator_restarted)",
                )
                return False
            self._kept[run_id] = store
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._retry, name="unstored-outcomes", daemon=True
                )
                self._thread.start()
        _log.warning("run outcome kept until the store can write", run_id=run_id)
        return True

    def waiting(self) -> list[str]:
        """The run ids whose outcome waits for the store."""
        with self._lock:
            return list(self._kept)

    def _retry(self) -> None:
        pause = FIRST_RETRY_SECONDS
        while True:
            with self._lock:
                self._wake.wait_for(lambda: self._stopped, timeout=pause)
                if self._stopped or not self._kept:
                    self._thread = None
                    return
            stored = self._attempt(unless_stopped=True)
            pause = FIRST_RETRY_SECONDS if stored else min(pause * 2, MAX_RETRY_SECONDS)

    def attempt(self) -> int:
        """Tries to store every kept outcome once; how many were stored."""
        return self._attempt(unless_stopped=False)

    def _attempt(self, *, unless_stopped: bool) -> int:
        stored = 0
        with self._attempting:
            with self._lock:
                if unless_stopped and self._stopped:
                    # ``stop`` made the last attempt: the store may be closed by now.
                    return 0
                kept = list(self._kept.items())
            for run_id, store in kept:
                try:
                    store()
                except Exception as exc:
                    _log.info("run outcome still not stored", run_id=run_id, error=str(exc))
                    continue
                stored += 1
                with self._lock:
                    self._kept.pop(run_id, None)
                _log.info("run outcome stored after the store could write again", run_id=run_id)
        return stored

    def stop(self) -> list[str]:
        """Stops the retries, tries once more; returns the run ids still not stored (logged)."""
        with self._lock:
            self._stopped = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
        self.attempt()
        left = self.waiting()
        if left:
            _log.error(
                "run outcomes not stored at shutdown",
                runs=left,
                hint="they are ended at the next start (orchestrator_restarted)",
            )
        return left
