"""Typed settings, read once from the environment (prefix ``CORRAL_``) and passed down."""

from __future__ import annotations

import json
import pathlib
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from corral._logging import level_name
from corral.errors import InvalidRequest

MAX_RETENTION_DAYS = 36_500
"""The longest retention of runs that can be set, serve-wide or per environment (100 years;
0 keeps them forever)."""


class ServeSettings(BaseSettings):
    """Settings of ``corral serve``: the orchestrator with its local runner pool."""

    model_config = SettingsConfigDict(env_prefix="CORRAL_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the public API listens on.")
    port: int = Field(7700, ge=0, le=65535, description="Port of the public API (0: any).")
    data_dir: pathlib.Path = Field(
        pathlib.Path(".corral"), description="Where the SQLite store and runtime files live."
    )
    callback_host: str = Field("127.0.0.1", description="Address of the runner callback API.")
    runners: int = Field(1, ge=1, le=64, description="Local runner processes to start.")
    runner_address: str = Field("", description="Use this remote runner instead of local ones.")
    prewarm_workers: int = Field(2, ge=0, le=64, description="Idle workers each runner keeps.")
    strict_containment: bool = Field(False, description="Refuse to run when a layer is missing.")
    proxy_allow_private: bool = Field(
        False, description="Let functions reach private and loopback addresses (development)."
    )
    proxy_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts functions may reach even if private (comma-separated, or JSON).",
    )
    shutdown_grace_seconds: float = Field(10.0, ge=0, description="Grace for in-flight runs.")
    run_retention_days: float = Field(
        30.0,
        ge=0,
        le=MAX_RETENTION_DAYS,
        allow_inf_nan=False,
        description="Days a finished run and its logs are kept (0: forever), in every"
        " environment whose setting retention_days is not set.",
    )
    log_format: str = Field("auto", pattern="^(auto|json|console)$")
    log_level: str = Field(
        "info",
        description="Lowest level of the service log: debug, info, warn, error or off (any case;"
        " warning is warn).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        """``WARN``, ``Info``, ``warning``: the level names of ``env settings``, in any case."""
        return level_name(value) if isinstance(value, str) else value

    @field_validator("proxy_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        """``a.example.com,b.example.com`` as operators write it, or a JSON list."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [host.strip() for host in value.split(",") if host.strip()]


class ClientSettings(BaseSettings):
    """Settings of the client commands (deploy, trigger, logs, records, ...)."""

    model_config = SettingsConfigDict(env_prefix="CORRAL_", extra="ignore")

    server: str = Field("127.0.0.1:7700", description="Address of the orchestrator's API.")
    secret_key: SecretStr = Field(SecretStr(""), description="The environment's secret key.")


class RunnerSettings(BaseSettings):
    """Settings of ``corral runner``: one runner host."""

    model_config = SettingsConfigDict(env_prefix="CORRAL_RUNNER_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the Runner API listens on.")
    port: int = Field(0, ge=0, le=65535, description="Port of the Runner API (0: any).")
    callbacks: str = Field("", description="Address of the orchestrator's callback API.")
    prewarm_workers: int = Field(2, ge=0, le=64, description="Idle workers kept ready.")
    strict_containment: bool = Field(False, description="Refuse to run when a layer is missing.")
    max_concurrent_runs: int = Field(64, ge=1, description="Runs executing at once.")


def setting_error(err: ValidationError | SettingsError, prefix: str = "CORRAL_") -> InvalidRequest:
    """A settings error as operators read it: the variable, what is wrong, the value given."""
    if isinstance(err, SettingsError):
        return InvalidRequest(f"a setting could not be read: {err}", code="invalid_setting")
    problems = []
    for problem in err.errors():
        name = prefix + "_".join(str(part) for part in problem["loc"]).upper()
        given = problem.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int | float) else ""
        problems.append(f"{name}: {problem['msg']}{shown}")
    return InvalidRequest("; ".join(problems), code="invalid_setting")


SETTINGS_PREFIXES: dict[str, str] = {
    cls.__name__: str(cls.model_config.get("env_prefix", ""))
    for cls in (ServeSettings, ClientSettings, RunnerSettings)
}
"""The environment variable prefix of each settings class, by its name (from its own config)."""
