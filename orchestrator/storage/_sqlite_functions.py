"""The SQLite engine's deployed functions: ``_area_functions`` as it is."""

from __future__ import annotations

import sqlite3

from orchestrator.storage._area_functions import FunctionsArea
from orchestrator.storage._sqlite_base import SqliteBase


class FunctionsMixin(SqliteBase, FunctionsArea[sqlite3.Connection]):
    """Deployed functions: ``orchestrator.storage._areas.FunctionStore``."""
