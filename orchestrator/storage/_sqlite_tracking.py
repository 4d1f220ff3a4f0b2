"""The SQLite engine's deletion tracking: ``_area_tracking`` as it is."""

from __future__ import annotations

import sqlite3

from orchestrator.storage._area_tracking import TrackingArea
from orchestrator.storage._sqlite_records import RecordWrites


class TrackingMixin(RecordWrites, TrackingArea[sqlite3.Connection]):
    """Deletion tracking of records: ``orchestrator.storage._areas.TrackingStore``."""
