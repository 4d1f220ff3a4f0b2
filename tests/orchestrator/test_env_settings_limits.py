"""An environment's limits: anything from the floor to the core's ceiling, never above it."""

from __future__ import annotations

import pytest

from corral.errors import InvalidRequest
from corral.limits import CEILING, DEFAULTS, FIELDS
from orchestrator._env_settings import validated
from orchestrator.runs._limits import limits_for

KINDS = ("action", "sync", "on_event")


@pytest.mark.parametrize("kind", KINDS)
def test_every_limit_may_be_set_up_to_the_ceiling(kind: str) -> None:
    at_ceiling = CEILING.as_dict()
    stored = validated({"limits": {kind: at_ceiling}})
    assert stored["limits"][kind] == at_ceiling
    assert limits_for(kind, stored) == CEILING.to_proto()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", FIELDS)
def test_a_limit_above_the_ceiling_is_refused_naming_field_and_ceiling(
    kind: str, name: str
) -> None:
    highest = getattr(CEILING, name)
    with pytest.raises(InvalidRequest) as caught:
        validated({"log_level": "warn", "limits": {kind: {name: highest + 1}}})
    err = caught.value
    assert err.code == "invalid_limits"
    assert err.details == {
        "field": f"limits.{kind}.{name}",
        "value": highest + 1,
        "ceiling": highest,
    }
    assert f"limits.{kind}.{name}" in err.message
    assert f"above the ceiling of {int(highest)}" in err.message


def test_sixty_four_gib_of_memory_is_refused_not_capped() -> None:
    with pytest.raises(InvalidRequest, match="memory_bytes is 68719476736, above the ceiling"):
        validated({"limits": {"action": {"memory_bytes": 64 << 30}}})


def test_the_floors_are_still_settings_errors() -> None:
    for bad in ({"wall_seconds": -1}, {"memory_bytes": 1024}, {"max_open_files": 3}):
        with pytest.raises(InvalidRequest) as caught:
            validated({"limits": {"action": bad}})
        assert caught.value.code == "invalid_settings"


def test_a_setting_changes_only_its_own_kind_and_field() -> None:
    stored = validated({"limits": {"sync": {"memory_bytes": 4 << 30}}})
    sync = limits_for("sync", stored)
    assert sync.memory_bytes == 4 << 30
    assert sync.wall_seconds == DEFAULTS["sync"].wall_seconds
    assert limits_for("action", stored) == DEFAULTS["action"].to_proto()
