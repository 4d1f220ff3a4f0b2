"""An environment's settings: validated when they are written, read by every run.

{"log_level": "info", "validation": true,
 "limits": {"action": {"wall_seconds": 60, "memory_bytes": 536870912}},
 "budgets": {"log_lines_per_run": 10000, "records_per_run": 1000000},
 "retention_days": 7}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pydantic

from corral._budgets import MAX_RESPONSE_BYTES
from corral._settings import MAX_RETENTION_DAYS
from corral.errors import InvalidRequest
from corral.limits import CEILING, check_within, defaults_for


class RunLimitSettings(pydantic.BaseModel):
    """Limits for runs of one kind; absent fields keep the defaults of ``corral.limits``.

    The lowest values are here; the highest are ``corral.limits.CEILING``, checked by
    ``validated`` (``invalid_limits``).
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    wall_seconds: float | None = pydantic.Field(None, gt=0)
    cpu_seconds: int | None = pydantic.Field(None, gt=0)
    memory_bytes: int | None = pydantic.Field(None, ge=64 << 20)
    max_output_bytes: int | None = pydantic.Field(None, ge=1024)
    max_open_files: int | None = pydantic.Field(None, ge=16)
    max_run_output_bytes: int | None = pydantic.Field(None, ge=1024)


class Limits(pydantic.BaseModel):
    """Limits per kind of run."""

    model_config = pydantic.ConfigDict(extra="forbid")

    action: RunLimitSettings | None = None
    sync: RunLimitSettings | None = None
    on_event: RunLimitSettings | None = None


class BudgetSettings(pydantic.BaseModel):
    """Budgets per run and per connection; absent fields keep the defaults of ``_budgets``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    log_lines_per_run: int | None = pydantic.Field(None, ge=1, le=10_000_000)
    log_bytes_per_run: int | None = pydantic.Field(None, ge=1024, le=1 << 30)
    log_meta_bytes: int | None = pydantic.Field(None, ge=64, le=1 << 20)
    metadata_bytes: int | None = pydantic.Field(None, ge=64, le=64 << 20)
    record_bytes: int | None = pydantic.Field(None, ge=64, le=16 << 20)
    records_per_run: int | None = pydantic.Field(None, ge=1, le=1_000_000_000)
    record_bytes_per_run: int | None = pydantic.Field(None, ge=1024, le=64 << 30)
    response_bytes: int | None = pydantic.Field(None, ge=1024, le=MAX_RESPONSE_BYTES)


class ConcurrencySettings(pydantic.BaseModel):
    """Runs, SDK calls and API calls of the environment at once; absent fields keep the
    defaults of ``orchestrator._concurrency``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    runs: int | None = pydantic.Field(None, ge=1, le=4096)
    sdk_calls: int | None = pydantic.Field(None, ge=1, le=4096)
    api_calls: int | None = pydantic.Field(None, ge=1, le=4096)


class EnvironmentSettings(pydantic.BaseModel):
    """What an operator may set per environment."""

    model_config = pydantic.ConfigDict(extra="forbid")

    log_level: Literal["debug", "info", "warn", "error", "off"] = "info"
    """The default level of ``nango.log`` (functions may change it with ``set_logger``)."""
    validation: bool = True
    """Validate action input and output, records and checkpoints against their models."""
    limits: Limits = Limits()
    """Wall clock, CPU, memory, output size and open files per kind of run."""
    budgets: BudgetSettings = BudgetSettings()
    """Log lines and bytes, records and record bytes per run; metadata bytes per connection."""
    concurrency: ConcurrencySettings = ConcurrencySettings()
    """Runs, SDK calls and public API calls of the environment in progress at once."""
    retention_days: float | None = pydantic.Field(
        None, ge=0, le=MAX_RETENTION_DAYS, strict=True, allow_inf_nan=False
    )
    """Days a finished run and its logs are kept before the hourly purge deletes them (0: kept
    forever); absent (or null), the server's ``CORRAL_RUN_RETENTION_DAYS``."""


def retention_days(settings: Mapping[str, Any], default: float) -> float:
    """The environment's ``retention_days`` as stored, else ``default`` (0: forever)."""
    value = settings.get("retention_days")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return default


def validated(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as stored, after validation.

    Raises:
        InvalidRequest: ``invalid_settings`` with the validation errors; ``invalid_limits``
            when a limit is above ``corral.limits.CEILING`` (details: ``field``, ``value``,
            ``ceiling``).
    """
    try:
        model = EnvironmentSettings.model_validate(dict(settings))
    except pydantic.ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InvalidRequest(
            "invalid settings: " + "; ".join(errors), code="invalid_settings"
        ) from None
    _check_ceilings(model.limits)
    return model.model_dump(mode="json", exclude_none=True)


def _check_ceilings(limits: Limits) -> None:
    for kind in Limits.model_fields:
        chosen: RunLimitSettings | None = getattr(limits, kind)
        if chosen is None:
            continue
        wanted = defaults_for(kind).with_overrides(chosen.model_dump(exclude_none=True))
        try:
            check_within(wanted, CEILING, where=f"limits.{kind}.")
        except InvalidRequest as exc:
            raise InvalidRequest(
                f"invalid settings: {exc.message} (the most a runner accepts)",
                code=exc.code,
                details=exc.details,
            ) from None


def merged(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` deep-merged into ``current`` (objects merged, other values replaced)."""
    out = dict(current)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out
