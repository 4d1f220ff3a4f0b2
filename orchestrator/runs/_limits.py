"""The limits of a run in an environment: the core's defaults with the environment's setting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.limits import defaults_for
from corral.v1 import common_pb2


def limits_for(kind: str, settings: Mapping[str, Any]) -> common_pb2.RunLimits:
    """The limits of a run of ``kind`` in an environment with these settings.

    ``corral.limits.DEFAULTS[kind]``, with each positive number of
    ``settings["limits"][kind]`` in its place (see ``corral.limits.RunLimits`` for the fields).
    The settings were checked against ``corral.limits.CEILING`` when they were written; a
    runner checks again.
    """
    override = (settings.get("limits") or {}).get(kind) or {}
    return defaults_for(kind).with_overrides(override).to_proto()
