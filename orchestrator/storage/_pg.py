"""The PostgreSQL engine (in progress): the shared store of several orchestrators.

``PostgresStorage`` is assembled, as ``SqliteStorage`` is, from mixins over ``PostgresBase``
(the pool, transactions, migrations, ``close``), one module per storage area. The areas ported
so far, each implementing exactly its protocol of ``orchestrator.storage._areas``:

- ``_pg_tenants``: ``TenantStore``, environments and their variables;
- ``_pg_connections``: ``ConnectionStore``, integrations and connections;
- ``_pg_functions``: ``FunctionStore``, deployed functions;
- ``_pg_runs``: ``RunStore``, runs and run logs;
- ``_pg_checkpoints``: ``CheckpointStore``, checkpoints and sync resets;
- ``_pg_schedules``: ``ScheduleStore``, when each sync runs for each connection.

Still to port: records and tracking (the schema of all of them is in
``migrations/postgresql``). Until they are, ``PostgresStorage`` is not a whole ``Storage`` and
``corral serve`` does not offer it.

Choices every caller may rely on, as with SQLite:

- Timestamps are TIMESTAMPTZ (microseconds) and exposed as aware datetimes in UTC.
- JSON objects are JSONB: they come back as equal mappings, not in the key order they were
  given.
- Names and keys are listed in code point order (``COLLATE "C"``), whatever the database's
  collation.
- Each call is one transaction; the schema is created and migrated when the store opens, under
  an advisory lock, so orchestrators opening one database together migrate it once.
"""

from __future__ import annotations

from orchestrator.storage._areas import (
    CheckpointStore,
    ConnectionStore,
    FunctionStore,
    RunStore,
    ScheduleStore,
    TenantStore,
)
from orchestrator.storage._pg_checkpoints import CheckpointsMixin
from orchestrator.storage._pg_connections import ConnectionsMixin
from orchestrator.storage._pg_functions import FunctionsMixin
from orchestrator.storage._pg_runs import RunsMixin
from orchestrator.storage._pg_schedules import SchedulesMixin
from orchestrator.storage._pg_tenants import TenantsMixin

__all__ = ["PORTED_AREAS", "PostgresStorage"]

PORTED_AREAS = frozenset(
    {"tenants", "connections", "functions", "runs", "checkpoints", "schedules"}
)
"""The storage areas the PostgreSQL engine implements so far (names as in ``_areas``)."""


class PostgresStorage(
    TenantsMixin, ConnectionsMixin, FunctionsMixin, RunsMixin, CheckpointsMixin, SchedulesMixin
):
    """Storage in a PostgreSQL database (the areas in ``PORTED_AREAS``).

    Thread-safe: each call borrows a pooled connection for one transaction; a server that
    cannot be reached makes calls fail with ``Unavailable`` (``storage_unavailable``,
    retryable) until it is back.

    Example::

        storage = PostgresStorage("postgresql://corral@db.internal/corral")
        environment, secret_key = storage.create_environment("acme/prod")
    """


def _conforms(
    *,
    tenants: TenantsMixin,
    connections: ConnectionsMixin,
    functions: FunctionsMixin,
    runs: RunsMixin,
    checkpoints: CheckpointsMixin,
    schedules: SchedulesMixin,
    storage: PostgresStorage,
) -> tuple[
    TenantStore,
    ConnectionStore,
    FunctionStore,
    RunStore,
    CheckpointStore,
    ScheduleStore,
    tuple[TenantStore, ConnectionStore, FunctionStore, RunStore, CheckpointStore, ScheduleStore],
]:
    # mypy proves here that each ported area module implements its area's protocol, and that
    # PostgresStorage implements every ported area.
    ported = (storage, storage, storage, storage, storage, storage)
    return tenants, connections, functions, runs, checkpoints, schedules, ported
