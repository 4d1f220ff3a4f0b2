"""The PostgreSQL engine: the shared store of several orchestrators (issue 11, in progress).

``PostgresStorage`` implements ``orchestrator.storage._areas.Storage``. It is assembled, as
``SqliteStorage`` is, from mixins over ``PostgresBase`` (the pool, transactions, migrations,
``close``), one module per storage area, each implementing exactly that area's protocol:

- ``_pg_tenants``: ``TenantStore``, environments and their variables;
- ``_pg_connections``: ``ConnectionStore``, integrations and connections;
- ``_pg_functions``: ``FunctionStore``, deployed functions;
- ``_pg_runs``: ``RunStore``, runs and run logs;
- ``_pg_records``: ``RecordStore``, records;
- ``_pg_tracking``: ``TrackingStore``, deletion tracking of records;
- ``_pg_checkpoints``: ``CheckpointStore``, checkpoints and sync resets;
- ``_pg_schedules``: ``ScheduleStore``, when each sync runs for each connection;
- ``_pg_tokens``: ``TokenStore`` (not part of ``Storage``), run tokens shared by every
  orchestrator on the database.

``corral serve`` uses it when ``CORRAL_DATABASE_URL`` is set (``orchestrator._store_open``);
several orchestrators share one database, their runs held by leases (``RunStore.renew_leases``,
``end_expired_runs``), and their run tokens by ``TokenStore`` (``_pg_tokens``).

Choices every caller may rely on, as with SQLite:

- Timestamps are TIMESTAMPTZ (microseconds) and exposed as aware datetimes in UTC.
- JSON objects are JSONB: they come back as equal mappings, not in the key order they were
  given. Record payloads are BYTEA, byte for byte as the runner sent them.
- Names and keys are listed in code point order (``COLLATE "C"``), whatever the database's
  collation.
- Deleting a connection deletes its records, checkpoints and deletion tracking for good
  (ON DELETE CASCADE); runs and their logs stay.
- Each call is one transaction; the schema is created and migrated when the store opens, under
  an advisory lock, so orchestrators opening one database together migrate it once.
"""

from __future__ import annotations

from orchestrator.storage._areas import (
    CheckpointStore,
    ConnectionStore,
    FunctionStore,
    RecordStore,
    RunStore,
    ScheduleStore,
    Storage,
    TenantStore,
    TokenStore,
    TrackingStore,
)
from orchestrator.storage._pg_checkpoints import CheckpointsMixin
from orchestrator.storage._pg_connections import ConnectionsMixin
from orchestrator.storage._pg_functions import FunctionsMixin
from orchestrator.storage._pg_records import RecordsMixin
from orchestrator.storage._pg_run_tokens import RunTokenWritesMixin
from orchestrator.storage._pg_runners import RunnersMixin
from orchestrator.storage._pg_runs import RunsMixin
from orchestrator.storage._pg_schedules import SchedulesMixin
from orchestrator.storage._pg_tenants import TenantsMixin
from orchestrator.storage._pg_tokens import TokensMixin
from orchestrator.storage._pg_tracking import TrackingMixin

__all__ = ["PORTED_AREAS", "PostgresStorage"]

PORTED_AREAS = frozenset(
    {
        "tenants",
        "connections",
        "functions",
        "runs",
        "records",
        "tracking",
        "checkpoints",
        "schedules",
    }
)
"""The storage areas the PostgreSQL engine implements (names as in ``_areas``): all of them."""


class PostgresStorage(
    TenantsMixin,
    ConnectionsMixin,
    FunctionsMixin,
    RunsMixin,
    RecordsMixin,
    TrackingMixin,
    CheckpointsMixin,
    SchedulesMixin,
    TokensMixin,
    RunnersMixin,
    RunTokenWritesMixin,
):
    """Storage in a PostgreSQL database (with its run tokens: ``TokenStore``, written with
    their runs: ``RunTokenWrites``).

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
    records: RecordsMixin,
    tracking: TrackingMixin,
    checkpoints: CheckpointsMixin,
    schedules: SchedulesMixin,
    tokens: TokensMixin,
    storage: PostgresStorage,
) -> tuple[
    TenantStore,
    ConnectionStore,
    FunctionStore,
    RunStore,
    RecordStore,
    TrackingStore,
    CheckpointStore,
    ScheduleStore,
    TokenStore,
    Storage,
    TokenStore,
]:
    # mypy proves here that each area module implements its area's protocol, and that
    # PostgresStorage implements all of Storage, and TokenStore.
    return (
        tenants,
        connections,
        functions,
        runs,
        records,
        tracking,
        checkpoints,
        schedules,
        tokens,
        storage,
        storage,
    )
