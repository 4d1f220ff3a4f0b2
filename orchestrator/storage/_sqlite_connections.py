"""The SQLite engine's integrations and connections: ``_area_connections`` as it is."""

from __future__ import annotations

import sqlite3

from orchestrator.storage._area_connections import ConnectionsArea
from orchestrator.storage._sqlite_base import SqliteBase


class ConnectionsMixin(SqliteBase, ConnectionsArea[sqlite3.Connection]):
    """Integrations and their connections: ``orchestrator.storage._areas.ConnectionStore``."""
