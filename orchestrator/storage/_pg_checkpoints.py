"""The PostgreSQL engine's checkpoints: ``_area_checkpoints`` as it is.

Writers of one connection's checkpoints take turns on the connection's row lock.
"""

from __future__ import annotations

from orchestrator.storage._area_checkpoints import CheckpointsArea
from orchestrator.storage._pg_base import PgConnection, PostgresBase


class CheckpointsMixin(PostgresBase, CheckpointsArea[PgConnection]):
    """Checkpoints of (connection, function, variant) and sync resets: ``CheckpointStore``."""
