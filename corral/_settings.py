"""Typed settings, read once from the environment (prefix ``CORRAL_``) and passed down."""

from __future__ import annotations

import pathlib

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    proxy_allowed_hosts: list[str] = Field(
        default_factory=list, description="Hosts functions may reach even if private."
    )
    shutdown_grace_seconds: float = Field(10.0, ge=0, description="Grace for in-flight runs.")
    log_format: str = Field("auto", pattern="^(auto|json|console)$")
    log_level: str = Field("info", pattern="^(debug|info|warning|error)$")


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
