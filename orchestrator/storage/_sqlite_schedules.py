"""The SQLite engine's sync schedules: ``_area_schedules`` as it is."""

from __future__ import annotations

import sqlite3

from orchestrator.storage._area_schedules import SchedulesArea
from orchestrator.storage._sqlite_base import SqliteBase


class SchedulesMixin(SqliteBase, SchedulesArea[sqlite3.Connection]):
    """Sync schedules per (connection, sync, variant): ``ScheduleStore``."""
