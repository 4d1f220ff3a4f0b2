"""What runs without a client asking: syncs on their schedule, on-event functions on connection
events, sync webhook handlers on delivered webhooks.

- A sync with ``auto_start`` gets a running schedule for every connection of its integration
  (on deploy, and when a connection is created); others get one when ``StartSync`` is called.
  The scheduler starts each due sync, never two runs of one schedule at once.
- ``validate-connection`` functions run when a connection is created, before anything else; if
  one fails, the connection is removed again and the caller gets the function's error.
  ``post-connection-creation`` functions run afterwards in the background;
  ``pre-connection-deletion`` functions run before a connection is deleted.
- A delivered webhook runs the ``on_webhook`` handler of every sync of the integration that
  subscribed to its type (``*`` for all), for one connection or for all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import structlog

from corral._frequency import MAX_SECONDS, MIN_SECONDS, parse_frequency
from corral.errors import CorralError, InvalidRequest, NotFound, RunFailure
from orchestrator._env_settings import retention_days
from orchestrator.runs._caller import Caller
from orchestrator.runs._manager import RunManager
from orchestrator.runs._run_request import RunRequestSpec, output_or_raise
from orchestrator.storage._areas import Environment, FunctionRow, Schedule
from orchestrator.storage._needs import LifecycleStorage

_log = structlog.get_logger("corral.scheduler")

PURGE_EVERY = timedelta(hours=1)
"""How often the scheduler deletes runs older than the retention."""

DEFAULT_FREQUENCY_SECONDS = 3600.0


def _frequency(function: FunctionRow) -> float:
    """The sync's interval as its describe run reported it (a runner's claim: a value out of
    the parse's bounds, not a number, or not finite, is the default)."""
    value = function.config.get("frequency_seconds")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return DEFAULT_FREQUENCY_SECONDS
    seconds = float(value)
    return seconds if MIN_SECONDS <= seconds <= MAX_SECONDS else DEFAULT_FREQUENCY_SECONDS


class _Keep(Enum):
    """``set_state`` leaves the schedule's own frequency as it is."""

    KEEP = "keep"


MAX_FREQUENCY_CHARS = 100
"""The longest frequency text read (``"every 2 hours"`` needs 13): longer ones are refused
before parsing."""


def _own_frequency(state: str, frequency: str, clear: bool) -> float | _Keep | None:
    """What ``StartSync`` asks of a schedule's own frequency: seconds to set, None to clear,
    or ``_Keep.KEEP``; ``PauseSync`` asks nothing of it."""
    if not (frequency or clear):
        return _Keep.KEEP
    if state != "running":
        raise InvalidRequest("only StartSync sets a frequency", code="invalid_frequency")
    if frequency and clear:
        raise InvalidRequest(
            "give a frequency or clear_frequency, not both", code="invalid_frequency"
        )
    return _parsed(frequency) if frequency else None


def _parsed(text: str) -> float:
    if len(text) > MAX_FREQUENCY_CHARS:
        raise InvalidRequest(
            f"a frequency is at most {MAX_FREQUENCY_CHARS} characters", code="invalid_frequency"
        )
    try:
        return parse_frequency(text)
    except RunFailure as err:
        raise InvalidRequest(err.message, code="invalid_frequency", details=err.payload) from None


def _subscribed(function: FunctionRow, event_type: str) -> bool:
    if not function.config.get("has_webhook_handler"):
        return False
    subscriptions = function.config.get("webhook_subscriptions") or []
    return "*" in subscriptions or event_type in subscriptions or not event_type


class Lifecycle:
    """Schedules, connection events and webhooks for one orchestrator."""

    def __init__(
        self,
        storage: LifecycleStorage,
        runs: RunManager,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tick_seconds: float = 1.0,
        retention: timedelta | None = None,
        sweep: Callable[[], object] | None = None,
    ) -> None:
        """The scheduler of one orchestrator.

        Args:
            storage: the store's areas it uses.
            runs: starts the runs it launches.
            clock: the time source.
            tick_seconds: how often due schedules are claimed.
            retention: how long finished runs are kept in an environment that does not set
                ``retention_days`` (None: forever).
            sweep: called on each tick before due schedules are claimed: ends the runs whose
                orchestrator's lease expired (``end_lost_runs``).
        """
        self._sweep = sweep
        self._storage = storage
        self._runs = runs
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._retention = retention
        self._next_purge: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the scheduler ----

    def start(self) -> None:
        """Starts the scheduler thread."""
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the scheduler (runs it started go on until the run manager stops)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            try:
                self.tick()
            except Exception:  # the scheduler outlives one bad tick; it is logged
                _log.exception("scheduler tick failed")

    def tick(self) -> list[str]:
        """Ends runs whose lease expired (``sweep``), starts every due sync, and purges old runs
        once per ``PURGE_EVERY``; returns the run ids started."""
        if self._sweep is not None:
            self._sweep()
        self._purge()
        started = []
        for schedule in self._storage.claim_due_schedules(self._clock()):
            try:
                run_id = self._launch(schedule)
            except Exception as exc:  # one schedule that cannot start never stops the others
                _log.exception(
                    "scheduled run not started",
                    schedule=schedule.schedule_id,
                    sync=schedule.sync_name,
                    reason=exc.code if isinstance(exc, CorralError) else type(exc).__name__,
                )
                continue
            if run_id:
                started.append(run_id)
        return started

    def _purge(self) -> None:
        """Deletes runs (with their logs) that ended more than their environment's retention
        ago: its setting ``retention_days``, else the server's (``retention``)."""
        now = self._clock()
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY
        default = 0.0 if self._retention is None else self._retention / timedelta(days=1)
        for env in self._storage.list_environments():
            days = retention_days(env.settings, default)
            if days <= 0:
                continue  # kept forever
            purged = self._storage.purge_runs(now - timedelta(days=days), env_id=env.id)
            if purged:
                _log.info("old runs purged", environment=env.name, runs=purged, retention_days=days)

    def _launch(self, schedule: Schedule) -> str:
        try:
            env = self._runs.environment(schedule.env_id)
            function, provider = self._runs.target_for(
                env, schedule.connection_id, schedule.sync_name, "sync"
            )
        except NotFound:
            _log.warning("schedule of a sync or connection that is gone", sync=schedule.sync_name)
            return ""
        spec = RunRequestSpec(
            env, function, schedule.connection_id, None, schedule.variant, provider=provider
        )
        run = self._runs.start(spec, detached=True)
        self._storage.set_schedule_last_run(schedule.schedule_id, run.run_id)
        self._runs.submit(spec, run)
        return run.run_id

    def schedule_auto_start(
        self, env: Environment, integration_key: str, connection_ids: Sequence[str] | None = None
    ) -> None:
        """Gives every auto-start sync of the integration a running schedule per connection."""
        syncs = [
            f
            for f in self._storage.list_functions(env.id, integration_key)
            if f.kind == "sync" and f.config.get("auto_start", True)
        ]
        if connection_ids is None:
            connection_ids = [
                c.connection_id for c in self._storage.list_connections(env.id, integration_key)
            ]
        for connection_id in connection_ids:
            for sync in syncs:
                self._storage.ensure_schedule(
                    env.id,
                    connection_id,
                    sync.name,
                    "base",
                    frequency_seconds=_frequency(sync),
                    state="running",
                )

    def after_deploy(
        self, env: Environment, integration_key: str, functions: Sequence[FunctionRow]
    ) -> None:
        """Drops schedules of syncs that are gone and schedules the auto-start ones."""
        keep = frozenset(f.name for f in functions if f.kind == "sync")
        self._storage.remove_schedules(env.id, integration_key, keep)
        self.schedule_auto_start(env, integration_key)

    def set_state(
        self,
        env: Environment,
        connection_id: str,
        sync_name: str,
        variant: str,
        state: str,
        *,
        frequency: str = "",
        clear_frequency: bool = False,
    ) -> Schedule:
        """``StartSync`` / ``PauseSync``: a schedule is created on first use.

        ``frequency`` (``StartSync`` only): the connection's own frequency for this schedule
        (``"every 5 minutes"``, parsed as a sync definition's is); ``clear_frequency``: back
        to the sync's. Neither: the schedule's own frequency stays as it is.

        Raises:
            InvalidRequest: code ``invalid_frequency``: the frequency does not parse, is given
                with ``clear_frequency`` or to ``PauseSync``.
        """
        override = _own_frequency(state, frequency, clear_frequency)
        function = self._runs.function_for(env, connection_id, sync_name, "sync")
        self._storage.ensure_schedule(
            env.id,
            connection_id,
            sync_name,
            variant,
            frequency_seconds=_frequency(function),
            state=state,
        )
        if override is not _Keep.KEEP:
            self._storage.set_frequency_override(
                env.id, connection_id, sync_name, variant, override
            )
        return self._storage.set_schedule_state(env.id, connection_id, sync_name, variant, state)

    # ---- integrations ----

    def delete_integration(
        self, env: Environment, integration_key: str, caller: Caller | None = None
    ) -> tuple[list[str], list[str]]:
        """Deletes an integration: each connection as ``DeleteConnection`` does (its
        pre-deletion functions run first, then it goes with its records, checkpoints and
        schedules), then the integration with its functions.

        Returns:
            The deleted connections' ids and the pre-deletion runs' ids.

        Raises:
            NotFound: code ``unknown_integration``.
        """
        self._storage.get_integration(env.id, integration_key)
        deleted: list[str] = []
        run_ids: list[str] = []
        for connection in self._storage.list_connections(env.id, integration_key):
            cid = connection.connection_id
            try:
                run_ids += self.delete_connection(env, integration_key, cid, caller)
            except NotFound:
                continue  # deleted meanwhile by another call
            deleted.append(cid)
        self._storage.delete_integration(env.id, integration_key)
        self._runs.integration_deleted(env.id, integration_key)
        return deleted, run_ids

    def delete_connection(
        self,
        env: Environment,
        integration_key: str,
        connection_id: str,
        caller: Caller | None = None,
    ) -> list[str]:
        """Runs the connection's pre-deletion functions, then deletes it with its records,
        checkpoints and schedules, and ends the tokens of its runs (a connection made later
        under the same id is another one). Returns the pre-deletion runs' ids.

        Raises:
            NotFound: code ``unknown_connection``.
        """
        run_ids = self.connection_deleting(env, integration_key, connection_id, caller)
        self._storage.delete_connection(env.id, connection_id)
        self._runs.connection_deleted(env.id, connection_id)
        return run_ids

    # ---- connection events ----

    def _on_event(self, env: Environment, integration_key: str, event: str) -> list[FunctionRow]:
        return [
            f
            for f in self._storage.list_functions(env.id, integration_key)
            if f.kind == "on_event" and f.config.get("event") == event
        ]

    def connection_created(
        self,
        env: Environment,
        integration_key: str,
        connection_id: str,
        caller: Caller | None = None,
    ) -> None:
        """Validates a new connection, schedules its syncs, runs post-creation functions.

        ``caller``: the API call that waits for the validation (its deadline bounds the
        validating runs, and its end cancels them).

        Raises:
            InvalidRequest: code ``connection_validation_failed``; the connection was removed.
        """
        for function in self._on_event(env, integration_key, "validate-connection"):
            spec = RunRequestSpec(env, function, connection_id)
            try:
                output_or_raise(self._runs.execute(spec, self._runs.start(spec), caller))
            except CorralError as err:
                self._storage.delete_connection(env.id, connection_id)
                self._runs.connection_deleted(env.id, connection_id)
                raise InvalidRequest(
                    f"the connection failed validation by {function.name}: {err.message}",
                    code="connection_validation_failed",
                    details={"function": function.name, "error": err.to_dict()},
                ) from None
        self.schedule_auto_start(env, integration_key, [connection_id])
        for function in self._on_event(env, integration_key, "post-connection-creation"):
            spec = RunRequestSpec(env, function, connection_id)
            self._runs.submit(spec, self._runs.start(spec, detached=True))

    def connection_deleting(
        self,
        env: Environment,
        integration_key: str,
        connection_id: str,
        caller: Caller | None = None,
    ) -> list[str]:
        """Runs pre-deletion functions (their failures are recorded, never block the delete).

        ``caller``: the API call that waits for them (its deadline and end pass on to them).
        """
        run_ids = []
        for function in self._on_event(env, integration_key, "pre-connection-deletion"):
            spec = RunRequestSpec(env, function, connection_id)
            run = self._runs.execute(spec, self._runs.start(spec), caller)
            run_ids.append(run.run_id)
        return run_ids

    # ---- webhooks ----

    def deliver_webhook(
        self,
        env: Environment,
        integration_key: str,
        connection_id: str,
        event_type: str,
        payload: Any,
    ) -> list[str]:
        """Starts the subscribed syncs' webhook handlers; returns the run ids."""
        self._storage.get_integration(env.id, integration_key)
        syncs = [
            f
            for f in self._storage.list_functions(env.id, integration_key)
            if f.kind == "sync" and _subscribed(f, event_type)
        ]
        if connection_id:
            connection = self._storage.get_connection(env.id, connection_id)
            if connection.integration_key != integration_key:
                raise NotFound(
                    f"no connection {connection_id!r} on {integration_key!r}",
                    code="unknown_connection",
                )
            connection_ids = [connection_id]
        else:
            connection_ids = [
                c.connection_id for c in self._storage.list_connections(env.id, integration_key)
            ]
        run_ids = []
        for cid in connection_ids:
            for sync in syncs:
                spec = RunRequestSpec(env, sync, cid, payload, webhook=True)
                run = self._runs.start(spec, detached=True)
                self._runs.submit(spec, run)
                run_ids.append(run.run_id)
        return run_ids
