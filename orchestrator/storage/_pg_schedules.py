"""The PostgreSQL engine's sync schedules: ``_area_schedules`` with claims that skip locked rows.

A claim locks the due rows it takes (``FOR UPDATE SKIP LOCKED``) and moves them to their next
due time in the same transaction, so callers claiming at once, in one orchestrator or several,
each get different schedules and none twice.
"""

from __future__ import annotations

from orchestrator.storage._area_schedules import SchedulesArea
from orchestrator.storage._pg_base import PgConnection, PostgresBase


class SchedulesMixin(PostgresBase, SchedulesArea[PgConnection]):
    """Sync schedules per (connection, sync, variant): ``ScheduleStore``."""

    _due_lock = "FOR UPDATE OF s SKIP LOCKED"
