"""The PostgreSQL engine's deletion tracking: ``_area_tracking`` under the records' locks.

Its writes change a scope's records, so they take the scope's lock (``lock_scope``) first;
dropping a run's trackings, which spans scopes, takes every scope's (``lock_records``).
"""

from __future__ import annotations

from orchestrator.storage._area_tracking import TrackingArea
from orchestrator.storage._pg_base import PgConnection
from orchestrator.storage._pg_records import RecordWrites


class TrackingMixin(RecordWrites, TrackingArea[PgConnection]):
    """Deletion tracking of records: ``orchestrator.storage._areas.TrackingStore``."""

    _marked_order = "ORDER BY id"
