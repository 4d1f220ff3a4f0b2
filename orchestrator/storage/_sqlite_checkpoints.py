"""The SQLite engine's checkpoints: ``_area_checkpoints`` as it is."""

from __future__ import annotations

import sqlite3

from orchestrator.storage._area_checkpoints import CheckpointsArea
from orchestrator.storage._sqlite_base import SqliteBase


class CheckpointsMixin(SqliteBase, CheckpointsArea[sqlite3.Connection]):
    """Checkpoints of (connection, function, variant) and sync resets: ``CheckpointStore``."""
