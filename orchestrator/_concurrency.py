"""Each environment's share of the service: runs, SDK calls and API calls at once.

The ``concurrency`` environment setting holds three limits (absent ones keep ``DEFAULTS``):

- ``runs``: runs of the environment executing at once; more wait their turn in the fair queue
  (``orchestrator.runs._fair_queue``);
- ``sdk_calls``: SDK calls of the environment's runs in progress at once in the orchestrator
  (a proxied request, a record batch, ...); a call past it is refused with
  ``too_many_sdk_calls`` and retried by the runner with backoff within the run's time;
- ``api_calls``: public API calls of the environment open at once (a synchronous
  ``TriggerAction`` stays open for its run); a call past it is refused with
  ``too_many_calls``, retryable.

So one tenant can hold no more than its share of the service's threads and run slots, and the
others' calls are answered while it floods.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from corral._budgets import positive_counts
from corral._interceptors import Behaviour, CallWrapper, StreamBehaviour
from corral.errors import ResourceExhausted

DEFAULTS: Mapping[str, int] = {"runs": 16, "sdk_calls": 32, "api_calls": 32}
"""The defaults of the ``concurrency`` environment setting."""

SERVER_THREADS = 256
"""Threads of the public API and of the callback API each (and dry runs at once). An
environment holds at most its ``api_calls`` / ``sdk_calls`` of them (32 each by default), so
several tenants at their limits leave the rest of the threads to the others."""

CACHE_SECONDS = 2.0
"""How long an environment's limits are used before they are read again (a changed setting
applies within this time)."""


@dataclass(frozen=True)
class Concurrency:
    """The concurrency limits of one environment (see the module's docstring)."""

    runs: int = DEFAULTS["runs"]
    sdk_calls: int = DEFAULTS["sdk_calls"]
    api_calls: int = DEFAULTS["api_calls"]


def concurrency_for(settings: Mapping[str, Any]) -> Concurrency:
    """The limits of an environment with these settings (absent ones keep the defaults)."""
    return Concurrency(**positive_counts(settings.get("concurrency"), Concurrency))


class ConcurrencyLimits:
    """Every environment's limits, read from its settings and kept ``CACHE_SECONDS``."""

    def __init__(self, settings_of: Callable[[int], Mapping[str, Any]]) -> None:
        """``settings_of(env_id)``: the environment's stored settings."""
        self._settings_of = settings_of
        self._lock = threading.Lock()
        self._known: dict[int, tuple[float, Concurrency]] = {}

    def of(self, env_id: int) -> Concurrency:
        """The environment's limits (the defaults when its settings cannot be read)."""
        now = time.monotonic()
        with self._lock:
            known = self._known.get(env_id)
        if known is not None and now - known[0] < CACHE_SECONDS:
            return known[1]
        try:
            limits = concurrency_for(self._settings_of(env_id))
        except Exception:  # a gone environment or a busy store: the last known, or defaults
            limits = known[1] if known is not None else Concurrency()
        with self._lock:
            self._known[env_id] = (now, limits)
        return limits


class CallLimit(CallWrapper):
    """Refuses a call when its environment already has its limit of calls open.

    ``env_of()`` names the environment of the call being served (None: not counted); it runs
    inside the interceptors before this one (authentication binds it).
    """

    def __init__(
        self,
        prefix: str,
        env_of: Callable[[], int | None],
        limit_of: Callable[[int], int],
        *,
        resource: str,
        code: str,
        exempt: frozenset[str] = frozenset(),
    ) -> None:
        self._prefix = prefix
        self._env_of = env_of
        self._limit_of = limit_of
        self._resource = resource
        self._code = code
        self._exempt = exempt
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}

    def open_calls(self, env_id: int) -> int:
        """How many calls of the environment are open now."""
        with self._lock:
            return self._open.get(env_id, 0)

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        if not self._counted(method):
            return behaviour

        def limited(request: Any, context: grpc.ServicerContext) -> Any:
            env_id = self._enter()
            try:
                return behaviour(request, context)
            finally:
                self._leave(env_id)

        return limited

    def wrap_stream(self, method: str, behaviour: StreamBehaviour) -> StreamBehaviour:
        if not self._counted(method):
            return behaviour

        def limited(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            env_id = self._enter()
            try:
                yield from behaviour(request, context)
            finally:
                self._leave(env_id)

        return limited

    def _counted(self, method: str) -> bool:
        return method.startswith(self._prefix) and method.rsplit("/", 1)[-1] not in self._exempt

    def _enter(self) -> int | None:
        env_id = self._env_of()
        if env_id is None:
            return None
        limit = self._limit_of(env_id)
        with self._lock:
            open_calls = self._open.get(env_id, 0)
            if open_calls >= limit:
                raise ResourceExhausted(
                    f"this environment already has {open_calls} {self._resource.replace('_', ' ')}"
                    f" in progress, its limit (the concurrency.{self._resource} environment"
                    " setting); retry when one has ended",
                    resource=f"concurrency.{self._resource}",
                    limit=limit,
                    code=self._code,
                    retryable=True,
                )
            self._open[env_id] = open_calls + 1
        return env_id

    def _leave(self, env_id: int | None) -> None:
        if env_id is None:
            return
        with self._lock:
            self._open[env_id] -= 1
            if not self._open[env_id]:
                del self._open[env_id]
