"""The PostgreSQL engine's integrations and connections: ``_area_connections`` as it is.

Names sort by code point (``COLLATE "C"``); the metadata merge locks the connection's row.
"""

from __future__ import annotations

from orchestrator.storage._area_connections import ConnectionsArea
from orchestrator.storage._pg_base import PgConnection, PostgresBase


class ConnectionsMixin(PostgresBase, ConnectionsArea[PgConnection]):
    """Integrations and their connections: ``orchestrator.storage._areas.ConnectionStore``."""
