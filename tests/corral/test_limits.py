"""The limits of a run: one type, its defaults per kind, and the ceiling, all in the core."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from google.rpc import code_pb2

from corral import _grpc_errors
from corral.errors import RUN_ERROR_TYPES, InvalidRequest, RunFailure
from corral.limits import (
    CEILING,
    DEFAULTS,
    FIELDS,
    INVALID_LIMITS,
    RUN_KINDS,
    RunLimits,
    check_within,
    defaults_for,
)
from corral.v1 import common_pb2


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_every_default_is_positive_and_within_the_ceiling(kind: str) -> None:
    check_within(DEFAULTS[kind])
    for name in FIELDS:
        assert 0 < getattr(DEFAULTS[kind], name) <= getattr(CEILING, name), name


def test_the_defaults_of_the_design() -> None:
    action, sync = DEFAULTS["action"], DEFAULTS["sync"]
    assert (action.wall_seconds, action.cpu_seconds, action.memory_bytes) == (900, 600, 1 << 30)
    assert (sync.wall_seconds, sync.cpu_seconds, sync.memory_bytes) == (86400, 43200, 2 << 30)
    assert set(RUN_KINDS) == {"action", "sync", "on_event", "describe"}
    assert defaults_for("webhook-or-anything") is DEFAULTS["action"]
    assert defaults_for("describe") is DEFAULTS["describe"]


def test_the_tables_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CEILING.memory_bytes = 1 << 40  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULTS["action"] = CEILING  # type: ignore[index]


@pytest.mark.parametrize("name", FIELDS)
def test_one_above_the_ceiling_is_refused_naming_the_field_and_the_ceiling(name: str) -> None:
    highest = getattr(CEILING, name)
    wanted = dataclasses.replace(DEFAULTS["action"], **{name: highest + 1})
    with pytest.raises(InvalidRequest) as caught:
        check_within(wanted, where="limits.action.")
    err = caught.value
    assert err.code == INVALID_LIMITS == "invalid_limits"
    assert err.details == {
        "field": f"limits.action.{name}",
        "value": highest + 1,
        "ceiling": highest,
    }
    assert f"limits.action.{name}" in err.message
    assert "above the ceiling" in err.message
    check_within(dataclasses.replace(DEFAULTS["action"], **{name: highest}))  # the ceiling is ok


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf])
def test_a_value_that_is_not_a_positive_finite_number_is_refused(value: float) -> None:
    wanted = dataclasses.replace(DEFAULTS["action"], wall_seconds=value)
    with pytest.raises(InvalidRequest, match="wall_seconds") as caught:
        check_within(wanted)
    assert caught.value.code == "invalid_limits"


def test_a_lower_ceiling_is_enforced_as_given() -> None:
    lower = dataclasses.replace(CEILING, memory_bytes=512 << 20)
    with pytest.raises(InvalidRequest, match="memory_bytes is 1073741824"):
        check_within(DEFAULTS["action"], lower)


def test_overrides_take_positive_numbers_of_known_fields_only() -> None:
    base = DEFAULTS["sync"]
    overrides: dict[str, Any] = {
        "wall_seconds": 60,
        "cpu_seconds": 30.0,
        "memory_bytes": 0,
        "max_open_files": True,
        "max_output_bytes": "big",
        "colour": 3,
    }
    changed = base.with_overrides(overrides)
    assert changed == dataclasses.replace(base, wall_seconds=60.0, cpu_seconds=30)
    assert isinstance(changed.wall_seconds, float)
    assert isinstance(changed.cpu_seconds, int)


def test_the_wire_message_round_trips_and_zero_means_the_default() -> None:
    limits = DEFAULTS["on_event"].with_overrides({"memory_bytes": 3 << 30})
    assert RunLimits.from_proto(limits.to_proto(), DEFAULTS["action"]) == limits
    assert RunLimits.from_proto(common_pb2.RunLimits(), DEFAULTS["sync"]) == DEFAULTS["sync"]
    partial = RunLimits.from_proto(common_pb2.RunLimits(cpu_seconds=7), DEFAULTS["describe"])
    assert partial == dataclasses.replace(DEFAULTS["describe"], cpu_seconds=7)
    assert set(FIELDS) == {f.name for f in common_pb2.RunLimits.DESCRIPTOR.fields}


def test_invalid_limits_is_a_run_error_type_sent_as_invalid_argument() -> None:
    assert "invalid_limits" in RUN_ERROR_TYPES
    failure = RunFailure("invalid_limits", "the runner refuses the run")
    assert _grpc_errors.status_code_of(failure) == code_pb2.INVALID_ARGUMENT
