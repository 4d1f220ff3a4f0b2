"""Which storage areas each part of the orchestrator uses.

A part that uses one area takes that area's protocol from ``orchestrator.storage._areas`` directly:

- ``SecretKeyAuth`` (``_auth``): ``TenantStore``;
- ``ConnectionService`` (``_connections``), ``DryRuns`` (``_dryrun``) and ``Dispatcher``
  (``_dispatch``): ``ConnectionStore``.

A part that uses several takes one of the protocols below, each the union of its areas. Only
the process that opens the store (``_app``) holds the whole ``Storage``.
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.storage._areas import (
    CheckpointStore,
    ConnectionStore,
    FunctionStore,
    RecordStore,
    RunStore,
    ScheduleStore,
    TenantStore,
    TrackingStore,
)


class DeployStorage(ConnectionStore, FunctionStore, Protocol):
    """What ``Deployer`` uses: the integration it deploys into, and its functions."""


class RunStorage(TenantStore, ConnectionStore, FunctionStore, RunStore, TrackingStore, Protocol):
    """What ``RunManager`` uses.

    The function and connection it runs, the run itself, and the deletion tracking it abandons
    when a run fails.
    """


class LifecycleStorage(
    TenantStore, ConnectionStore, FunctionStore, ScheduleStore, RunStore, Protocol
):
    """What ``Lifecycle`` uses: schedules, the functions and connections they run, and the
    purge of old runs by each environment's retention."""


class CallbackStorage(
    TenantStore,
    ConnectionStore,
    RunStore,
    RecordStore,
    TrackingStore,
    CheckpointStore,
    Protocol,
):
    """What ``CallbacksService`` uses.

    Everything a running function reads and writes: its environment's variables, its
    connection's metadata, its logs, records, deletion tracking and checkpoints; not deployed
    functions or schedules.
    """


class ApiStorage(
    TenantStore,
    ConnectionStore,
    FunctionStore,
    RunStore,
    RecordStore,
    CheckpointStore,
    ScheduleStore,
    Protocol,
):
    """What ``OrchestratorService`` (the public API) uses.

    Every area but deletion tracking, which only runs use.
    """
