"""The fleet's runners in one process's memory: ``RunnerRegistry`` for a single orchestrator.

One SQLite orchestrator is the only one its runners' heartbeats reach, so a dict is enough: a
heartbeat a second per runner writes nothing to the database file.
"""

from __future__ import annotations

import threading
from datetime import datetime

from orchestrator.storage._types import RunnerRecord


class MemoryRunnerRegistry:
    """Runner records by runner id (thread-safe): ``RunnerRegistry``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: dict[str, RunnerRecord] = {}

    def runner_heartbeat(self, record: RunnerRecord) -> None:
        """Stores a runner's heartbeat (the first one registers it)."""
        with self._lock:
            self._runners[record.runner_id] = record

    def list_fleet_runners(self, heard_since: datetime) -> list[RunnerRecord]:
        """The runners heard from at ``heard_since`` or later, by address; older ones are
        forgotten."""
        with self._lock:
            gone = [k for k, r in self._runners.items() if r.last_heartbeat < heard_since]
            for runner_id in gone:
                del self._runners[runner_id]
            return sorted(self._runners.values(), key=lambda r: (r.address, r.runner_id))
