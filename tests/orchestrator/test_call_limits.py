"""Per-environment limits on calls in progress: the limit counts per environment, a call past it
is a typed, retryable refusal, and a finished call (or a failed one) frees its place."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from corral.errors import InvalidRequest, ResourceExhausted
from orchestrator._concurrency import (
    DEFAULTS,
    CallLimit,
    Concurrency,
    ConcurrencyLimits,
    concurrency_for,
)
from orchestrator._env_settings import validated

PREFIX = "/corral.v1.Orchestrator/"
NO_CONTEXT: Any = None
"""The limiter never looks at the call's context."""


class Bound:
    env_id: int | None = None


def _limit(bound: Bound, limit: int) -> CallLimit:
    return CallLimit(
        PREFIX,
        lambda: bound.env_id,
        lambda env_id: limit,
        resource="api_calls",
        code="too_many_calls",
        exempt=frozenset({"Free"}),
    )


def test_a_call_past_the_environments_limit_is_refused_and_others_go_on() -> None:
    bound = Bound()
    limiter = _limit(bound, 2)
    inside = threading.Event()
    release = threading.Event()

    def slow(request: Any, context: Any) -> str:
        inside.set()
        release.wait(5)
        return "done"

    wrapped = limiter.wrap(PREFIX + "TriggerAction", slow)
    results: list[str] = []

    def call_as(env_id: int) -> None:
        bound.env_id = env_id  # the interceptor reads it on entry, before the next call starts
        results.append(wrapped(None, NO_CONTEXT))

    threads = []
    for _ in range(2):
        inside.clear()
        thread = threading.Thread(target=call_as, args=(7,))
        thread.start()
        inside.wait(5)
        threads.append(thread)
    assert limiter.open_calls(7) == 2
    bound.env_id = 7
    with pytest.raises(ResourceExhausted) as caught:
        wrapped(None, NO_CONTEXT)
    assert caught.value.code == "too_many_calls"
    assert caught.value.retryable
    assert caught.value.details == {"resource": "concurrency.api_calls", "limit": 2}
    assert "concurrency.api_calls" in caught.value.message
    bound.env_id = 8  # another environment is not held back
    release.set()
    assert wrapped(None, NO_CONTEXT) == "done"
    for thread in threads:
        thread.join(5)
    assert results == ["done", "done"]
    assert limiter.open_calls(7) == 0


def test_a_failed_call_frees_its_place_and_uncounted_calls_pass() -> None:
    bound = Bound()
    bound.env_id = 3
    limiter = _limit(bound, 1)

    def fails(request: Any, context: Any) -> str:
        raise ValueError("no")

    for _ in range(3):
        with pytest.raises(ValueError, match="no"):
            limiter.wrap(PREFIX + "Deploy", fails)(None, NO_CONTEXT)
    assert limiter.open_calls(3) == 0
    plain = limiter.wrap(PREFIX + "Free", fails)
    assert limiter.wrap("/grpc.health.v1.Health/Check", fails) is fails
    assert plain is fails


def test_a_streamed_call_holds_its_place_until_its_stream_ends() -> None:
    bound = Bound()
    bound.env_id = 4
    limiter = _limit(bound, 1)

    def stream(request: Any, context: Any) -> Any:
        yield 1
        yield 2

    events = limiter.wrap_stream(PREFIX + "DryRun", stream)(None, NO_CONTEXT)
    assert next(events) == 1
    assert limiter.open_calls(4) == 1
    with pytest.raises(ResourceExhausted):
        next(limiter.wrap_stream(PREFIX + "DryRun", stream)(None, NO_CONTEXT))
    assert list(events) == [2]
    assert limiter.open_calls(4) == 0


def test_limits_come_from_the_concurrency_setting_with_defaults() -> None:
    assert concurrency_for({}) == Concurrency()
    assert Concurrency().runs == DEFAULTS["runs"] == 16
    assert concurrency_for({"concurrency": {"runs": 3}}).runs == 3
    assert concurrency_for({"concurrency": {"runs": 3}}).api_calls == DEFAULTS["api_calls"]
    assert validated({"concurrency": {"sdk_calls": 5}})["concurrency"] == {"sdk_calls": 5}
    for bad in ({"runs": 0}, {"api_calls": -1}, {"bogus": 1}, {"runs": "many"}):
        with pytest.raises(InvalidRequest) as caught:
            validated({"concurrency": bad})
        assert caught.value.code == "invalid_settings"


def test_limits_are_read_again_after_a_while_and_survive_a_failing_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored: dict[int, dict[str, Any]] = {1: {"concurrency": {"runs": 2}}}
    now = [100.0]
    monkeypatch.setattr("orchestrator._concurrency.time.monotonic", lambda: now[0])
    limits = ConcurrencyLimits(lambda env_id: stored[env_id])
    assert limits.of(1).runs == 2
    stored[1] = {"concurrency": {"runs": 5}}
    assert limits.of(1).runs == 2  # cached
    now[0] += 10
    assert limits.of(1).runs == 5
    del stored[1]
    now[0] += 10
    assert limits.of(1).runs == 5  # the last known, while the store cannot say
    assert limits.of(9) == Concurrency()  # never known: the defaults
