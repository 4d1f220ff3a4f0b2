"""The PostgreSQL engine's deployed functions: ``_area_functions`` as it is.

Names sort by code point (``COLLATE "C"``); a replacement locks the integration's row.
"""

from __future__ import annotations

from orchestrator.storage._area_functions import FunctionsArea
from orchestrator.storage._pg_base import PgConnection, PostgresBase


class FunctionsMixin(PostgresBase, FunctionsArea[PgConnection]):
    """Deployed functions: ``orchestrator.storage._areas.FunctionStore``."""
