"""``corral serve``: the orchestrator with its embedded store and local runner pool."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import structlog

from corral import _logging
from corral._budgets import CALLBACK_MESSAGE_BYTES, MAX_RESPONSE_BYTES
from corral._listen import check_listen_address
from corral._memory import bound_heap, freeze_heap
from corral._metrics import MetricsEndpoint
from corral._process import DataDirLock, wait_for_stop
from corral._server import bind, build_server
from corral._settings import ServeSettings
from corral.errors import AlreadyExists, InvalidRequest
from corral.v1 import callbacks_pb2_grpc, orchestrator_pb2_grpc, runner_pb2_grpc
from orchestrator._clock import SystemClock
from orchestrator._concurrency import SERVER_THREADS, CallLimit, ConcurrencyLimits
from orchestrator._metrics import OrchestratorMetrics, open_endpoint, runner_metrics_addresses
from orchestrator._store_open import describe, open_storage, secret_box
from orchestrator._transport import ServeTransport, serve_transport
from orchestrator.api._auth import PUBLIC_PREFIX, SecretKeyAuth, current_environment_id
from orchestrator.api._service import OrchestratorService
from orchestrator.callbacks._run_auth import CALLBACKS_PREFIX, RunTokenAuth, current_env_id
from orchestrator.callbacks._service import CallbacksService
from orchestrator.callbacks._store_retry import StoreRetry
from orchestrator.lifecycle._deploy import Deployer
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._egress import EgressPolicy, pinned_transport
from orchestrator.proxy._proxy import Proxy
from orchestrator.runs._containment_report import report_runner_containment
from orchestrator.runs._dry_runs import DryRuns
from orchestrator.runs._dry_sessions import DrySessions
from orchestrator.runs._fair_queue import FairQueue
from orchestrator.runs._fleet import HEARTBEAT_SECONDS, Fleet
from orchestrator.runs._fleet_service import RunnerFleetService
from orchestrator.runs._manager import CANCEL_DRAIN_SECONDS, RunManager
from orchestrator.runs._recovery import end_interrupted_runs, end_lost_runs
from orchestrator.runs._runner_client import LocalRunners, RunnerChannels, runner_channel
from orchestrator.runs._tokens import RunTokens
from orchestrator.storage._areas import RunnerRegistry, Storage, TenantStore
from orchestrator.storage._memory_runners import MemoryRunnerRegistry
from orchestrator.storage._sqlite import SqliteStorage
from orchestrator.storage._types import Run
from orchestrator.webhooks import Intake, Notifier, RunTally, TallyInterceptor, WebhookEndpoint

_log = structlog.get_logger("corral.orchestrator")

RUNTIME_DIR = "runtime"
"""The folder in the data dir for what lives only as long as one ``serve`` (runner port files,
dry runs' scratch stores): removed at exit, and at start when a dead ``serve`` left it."""
SCRATCH_DIR = "scratch"
"""Under the runtime folder: the scratch stores of dry runs in progress."""


@dataclass
class _Parts:
    storage: Storage
    runs: RunManager
    api: grpc.Server
    callbacks: grpc.Server
    channels: Fleet
    local: LocalRunners | None
    http: httpx.Client
    lifecycle: Lifecycle
    claim: DataDirLock
    metrics: MetricsEndpoint | None = None
    webhooks: WebhookEndpoint | None = None
    notifier: Notifier | None = None


def first_start(storage: TenantStore, announce: Callable[[str], None]) -> None:
    """On a new store: creates the ``dev`` environment and shows its key once (only one of
    several orchestrators starting together on a new database does)."""
    if storage.list_environments():
        return
    try:
        _, key = storage.create_environment("dev")
    except AlreadyExists:  # another orchestrator on the same database made it first
        return
    announce(
        "Created environment 'dev'. Its secret key is shown only this once:\n"
        f"  {key}\n"
        "Use it as CORRAL_SECRET_KEY (or --secret-key) with the client commands."
    )


def _claim(data_dir: pathlib.Path) -> DataDirLock:
    """Locks the data dir for this process; removes the runtime folder a dead one left.

    Raises:
        InvalidRequest: ``data_dir_unusable``, the directory cannot be made or written.
        Unavailable: ``data_dir_in_use``, another ``serve`` holds it.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        claim = DataDirLock(data_dir)
    except OSError as exc:
        raise InvalidRequest(
            f"the data directory {data_dir} (CORRAL_DATA_DIR or --data-dir) cannot be used:"
            f" {exc.strerror or exc}; expected a directory this process can create and write",
            code="data_dir_unusable",
        ) from None
    shutil.rmtree(data_dir / RUNTIME_DIR, ignore_errors=True)
    return claim


def _check_addresses(settings: ServeSettings) -> None:
    """A host that is not this machine's, or a port in use, before anything starts."""
    check_listen_address(settings.host, settings.port, "CORRAL_HOST", "CORRAL_PORT")
    check_listen_address(settings.callback_host, 0, "CORRAL_CALLBACK_HOST", "CORRAL_PORT")


def _start(settings: ServeSettings) -> _Parts:
    _check_addresses(settings)
    transport = serve_transport(settings)  # certificates checked before anything starts
    metrics = OrchestratorMetrics()
    endpoint = _metrics_endpoint(settings, metrics)
    with contextlib.ExitStack() as undo:
        if endpoint is not None:
            undo.callback(endpoint.close)
        claim = _claim(settings.data_dir)
        bound_heap()  # large response bodies go back to the system when freed (corral._memory)
        undo.callback(claim.release)
        undo.callback(shutil.rmtree, settings.data_dir / RUNTIME_DIR, ignore_errors=True)
        parts = _start_locked(settings, claim, undo, metrics, transport)
        parts.metrics = endpoint
        undo.pop_all()
    return parts


def _metrics_endpoint(
    settings: ServeSettings, metrics: OrchestratorMetrics
) -> MetricsEndpoint | None:
    """The Prometheus endpoint, when ``CORRAL_METRICS_ADDRESS`` is set (None: off)."""
    if not settings.metrics_address:
        return None
    local = 0 if settings.runner_address else settings.runners
    return open_endpoint(metrics, settings.metrics_address, local)


def _notifications(
    http: httpx.Client, egress: EgressPolicy, storage: Storage, undo: contextlib.ExitStack
) -> tuple[RunTally, Notifier, Callable[[Run], None]]:
    """The running syncs' progress (``RunTally``), the notifier that sends the store's due sync
    results (closed by ``undo``), and what a run's end tells them both."""
    tally = RunTally(storage.record_counts)
    notifier = Notifier(http, egress, storage)
    undo.callback(notifier.close)

    def finished(run: Run) -> None:
        tally.ended(run.run_id)
        notifier.run_ended(run)

    return tally, notifier, finished


def _webhook_endpoint(
    settings: ServeSettings, storage: Storage, lifecycle: Lifecycle, undo: contextlib.ExitStack
) -> WebhookEndpoint | None:
    """The provider webhook endpoint, when ``CORRAL_WEBHOOK_ADDRESS`` is set (None: off);
    closed by ``undo`` if the start fails after it."""
    if not settings.webhook_address:
        return None
    endpoint = WebhookEndpoint(settings.webhook_address, Intake(storage, lifecycle.deliver_webhook))
    undo.callback(endpoint.close)
    return endpoint


def _recover(storage: Storage, url: str) -> str:
    """Ends the runs no live process holds, before the scheduler and the API can start one;
    returns this process's instance id (the owner of its runs' leases)."""
    if url:  # a shared database: only runs whose orchestrator's lease expired are lost
        end_lost_runs(storage)
    else:  # this process holds the data dir: every unfinished run's process is gone
        end_interrupted_runs(storage)
    return uuid.uuid4().hex[:12]


def _start_locked(
    settings: ServeSettings,
    claim: DataDirLock,
    undo: contextlib.ExitStack,
    metrics: OrchestratorMetrics,
    transport: ServeTransport,
) -> _Parts:
    url = settings.database_url.get_secret_value()
    box = secret_box(settings)
    storage = open_storage(settings.data_dir, url, box)
    if not box.encrypting:
        _log.warning(
            "secrets are not encrypted at rest: set CORRAL_SECRETS_KEY_FILE (or"
            " CORRAL_SECRETS_KEY) to the base64 of 32 random bytes (openssl rand -base64 32)"
        )
    undo.callback(storage.close)
    metrics.time_store(storage)
    instance = _recover(storage, url)
    first_start(storage, lambda text: print(text, flush=True))
    # On PostgreSQL, tokens live in the shared database, so a worker's callback may land on
    # any orchestrator; one SQLite serve keeps them in memory (only it gets its runs' calls).
    tokens = RunTokens(store=None if isinstance(storage, SqliteStorage) else storage)
    egress = EgressPolicy(
        allow_private=settings.proxy_allow_private,
        allowed_hosts=frozenset(settings.proxy_allowed_hosts),
    )
    http = httpx.Client(transport=pinned_transport(egress))
    undo.callback(http.close)
    clock = SystemClock()
    proxy = Proxy(
        http, clock, egress, max_response_bytes=MAX_RESPONSE_BYTES, observe=metrics.proxy_call
    )
    connections = ConnectionService(storage, http, clock)
    tally, notifier, finished = _notifications(http, egress, storage, undo)
    runs_box: list[RunManager] = []
    channels_box: list[Fleet] = []
    # Dry runs' scratch stores live in the runtime folder, removed at stop and cleared at start.
    scratch_dir = settings.data_dir / RUNTIME_DIR / SCRATCH_DIR
    scratch_dir.mkdir(parents=True, exist_ok=True)
    sessions = DrySessions(scratch_dir)
    limits = ConcurrencyLimits(lambda env_id: storage.get_environment_by_id(env_id).settings)
    callbacks = CallbacksService(
        storage,
        proxy,
        connections,
        lambda *args, **kwargs: runs_box[0].run_nested(*args, **kwargs),  # noqa: PLW0108 - bound later
        dry=sessions,
        cancel_run=lambda run_id: channels_box[0].cancel(run_id),  # noqa: PLW0108 - bound later
    )
    registry = MemoryRunnerRegistry() if isinstance(storage, SqliteStorage) else storage
    callback_server, callback_health = build_server(
        [
            (
                callbacks_pb2_grpc.add_RunnerCallbacksServicer_to_server,
                callbacks,
                "corral.v1.RunnerCallbacks",
            ),
            *_fleet_services(
                settings, registry, lambda runner_id: _refusal(channels_box, runner_id)
            ),
        ],
        interceptors=[
            metrics.callback_interceptor(),
            StoreRetry(),
            RunTokenAuth(tokens, lambda env_id: storage.get_environment_by_id(env_id).name),
            CallLimit(
                CALLBACKS_PREFIX,
                current_env_id,
                lambda env_id: limits.of(env_id).sdk_calls,
                resource="sdk_calls",
                code="too_many_sdk_calls",
                # A nested run waits in its parent's call; runs, not SDK calls, bound those.
                exempt=frozenset({"TriggerAction"}),
            ),
            TallyInterceptor(tally),
        ],
        max_workers=SERVER_THREADS,
        max_message_bytes=CALLBACK_MESSAGE_BYTES,
    )
    callback_port = bind(
        callback_server, f"{settings.callback_host}:{settings.callback_port}", transport.callbacks
    )
    callback_server.start()
    undo.callback(lambda: callback_server.stop(grace=None).wait())
    local, addresses = _static_runners(settings, callback_port, undo, transport)
    channels = Fleet(
        registry,
        RunnerChannels(addresses, transport.runners) if addresses else None,
        _utc_now,
        lost_after=settings.runner_lost_seconds,
        channel=lambda address: runner_channel(address, transport.runners),
    )
    channels_box.append(channels)
    queue = FairQueue(settings.max_concurrent_runs, lambda env_id: limits.of(env_id).runs)
    runs = RunManager(
        storage,
        tokens,
        channels,
        queue,
        secrets=connections.secrets,
        owner=instance,
        lease_seconds=settings.run_lease_seconds,
        hand_off=bool(url),
        ended=metrics.run_ended,
        finished=finished,
    )
    metrics.watch_queue(queue, lambda env_id: storage.get_environment_by_id(env_id).name)
    metrics.watch_waiting(storage)
    runs.start_lease_renewal()
    runs_box.append(runs)
    dry_runs = DryRuns(storage, sessions, runs.dispatcher)
    # On a shared database, each tick takes over the queued runs of a dead orchestrator and
    # ends its other runs. One SQLite serve holds its data dir alone: nobody else's to sweep.
    sweep = (lambda: (runs.take_over_lost_runs(), end_lost_runs(storage))) if url else None
    lifecycle = Lifecycle(storage, runs, retention=_retention(settings), sweep=sweep)
    api = OrchestratorService(
        storage,
        runs,
        Deployer(storage, runs.dispatcher),
        dry_runs,
        lifecycle,
        runners=channels.runners,
        operators=frozenset(settings.operator_environments),
        progress=tally.progress,
    )
    api_server, api_health = build_server(
        [(orchestrator_pb2_grpc.add_OrchestratorServicer_to_server, api, "corral.v1.Orchestrator")],
        interceptors=[
            SecretKeyAuth(storage),
            CallLimit(
                PUBLIC_PREFIX,
                current_environment_id,
                lambda env_id: limits.of(env_id).api_calls,
                resource="api_calls",
                code="too_many_calls",
            ),
        ],
        max_workers=SERVER_THREADS,
    )
    webhooks = _webhook_endpoint(settings, storage, lifecycle, undo)
    report_runner_containment(channels.status, [api_health, callback_health])
    port = bind(api_server, f"{settings.host}:{settings.port}", transport.api)
    api_server.start()
    _write_atomically(settings.data_dir / "orchestrator.port", str(port))
    _log.info(
        "orchestrator started",
        host=settings.host,
        port=port,
        pid=os.getpid(),
        callback_port=callback_port,
        runners=addresses,
        runners_may_join=bool(settings.join_secret.get_secret_value()),
        data_dir=str(settings.data_dir),
        database=describe(url) if url else "sqlite",
        instance=instance,
        run_lease_seconds=settings.run_lease_seconds,
        metrics=settings.metrics_address or None,
        webhooks=settings.webhook_address or None,
        **box.describe(),
        **transport.describe(),
    )
    lifecycle.start()
    return _Parts(
        storage,
        runs,
        api_server,
        callback_server,
        channels,
        local,
        http,
        lifecycle,
        claim,
        webhooks=webhooks,
        notifier=notifier,
    )


def _stop(parts: _Parts, grace: float) -> None:
    _log.info("orchestrator stopping", grace_seconds=grace)
    if parts.webhooks is not None:
        parts.webhooks.close()
    parts.lifecycle.stop()
    # New calls are refused at once. Calls in flight get the grace and the time their cancelled
    # runs take to store the outcome, so a caller still waiting gets the run's typed error
    # (execution_cancelled, with its run id) rather than a bare CANCELLED.
    api_stopped = parts.api.stop(grace=grace + CANCEL_DRAIN_SECONDS + 1.0)
    parts.runs.shutdown(grace)  # the grace, then what still runs is cancelled and stored
    api_stopped.wait(timeout=CANCEL_DRAIN_SECONDS + 1.0)
    if parts.local is not None:
        parts.local.stop(grace=5.0)
    parts.callbacks.stop(grace=1.0).wait()
    parts.channels.close()
    if parts.notifier is not None:
        parts.notifier.close()
    parts.http.close()
    parts.storage.close()
    shutil.rmtree(parts.claim.data_dir / RUNTIME_DIR, ignore_errors=True)
    parts.claim.release()
    if parts.metrics is not None:
        parts.metrics.close()
    _log.info("orchestrator stopped")


def serve(
    settings: ServeSettings, stop: threading.Event | None = None, *, own_process: bool = False
) -> None:
    """Serves until SIGTERM or SIGINT (or ``stop`` is set); in-flight runs get a grace period.

    ``own_process``: the process is the serve's alone (``corral serve``): once started, its heap
    is left out of the garbage collector's passes (``corral._memory.freeze_heap``).
    """
    _logging.configure(settings.log_format, settings.log_level)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    parts = _start(settings)
    if own_process:
        freeze_heap()
    try:
        wait_for_stop(stop)
    finally:
        _stop(parts, settings.shutdown_grace_seconds)
    sys.stdout.flush()


def _static_runners(
    settings: ServeSettings,
    callback_port: int,
    undo: contextlib.ExitStack,
    transport: ServeTransport,
) -> tuple[LocalRunners | None, list[str]]:
    """The local runners (started here, supervised) or the one fixed address, and their
    addresses; none when only joined runners serve."""
    if settings.runner_address:
        return None, [settings.runner_address]
    if not settings.runners:
        return None, []
    local = LocalRunners(
        settings.runners,
        f"{settings.callback_host}:{callback_port}",
        settings.prewarm_workers,
        settings.strict_containment,
        settings.log_format,
        runtime_dir=settings.data_dir / RUNTIME_DIR,
        log_level=settings.log_level,
        metrics_addresses=_runner_metrics(settings),
        tls_env=transport.runner_env,
    )
    undo.callback(local.stop, 1.0)
    addresses = local.addresses()
    local.supervise()
    return local, addresses


def _refusal(fleet: list[Fleet], runner_id: str) -> str:
    """Why the fleet refused a runner's certificate (the fleet is made after the server that
    serves heartbeats: none yet, no refusal)."""
    return fleet[0].refusal(runner_id) if fleet else ""


def _fleet_services(
    settings: ServeSettings, registry: RunnerRegistry, refusal: Callable[[str], str]
) -> list[Any]:
    """The RunnerFleet service, served beside the callbacks when runners may join."""
    joined = settings.join_secret.get_secret_value()
    if not joined:
        return []
    service = RunnerFleetService(
        registry,
        joined,
        _utc_now,
        interval=HEARTBEAT_SECONDS,
        lost_after=settings.runner_lost_seconds,
        refusal=refusal,
    )
    return [(runner_pb2_grpc.add_RunnerFleetServicer_to_server, service, "corral.v1.RunnerFleet")]


def _write_atomically(path: pathlib.Path, text: str) -> None:
    """Writes ``path`` whole at once: a reader sees no file or all of it, never an empty one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _runner_metrics(settings: ServeSettings) -> list[str]:
    """Where local runners serve their metrics (none when the orchestrator serves none)."""
    if not settings.metrics_address:
        return []
    return runner_metrics_addresses(settings.metrics_address, settings.runners)


def _retention(settings: ServeSettings) -> timedelta | None:
    """How long finished runs are kept (None: forever)."""
    days = settings.run_retention_days
    return timedelta(days=days) if days > 0 else None
