"""Typed settings, read once from the environment (prefix ``CORRAL_``) and passed down.

The runner's (``RunnerSettings``) are read without pydantic, in ``corral._runner_settings``;
the checks both use are ``corral._setting_checks``'s (both re-exported here)."""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from corral._logging import level_name
from corral._runner_settings import RunnerSettings
from corral._setting_checks import (
    MIN_JOIN_SECRET,
    address,
    invalid_setting,
    is_host,
    join_secret,
    listen_address,
    split_address,
)
from corral.errors import InvalidRequest

__all__ = [
    "MAX_RETENTION_DAYS",
    "MIN_JOIN_SECRET",
    "SETTINGS_PREFIXES",
    "ClientSettings",
    "RunnerSettings",
    "ServeSettings",
    "address",
    "database_url",
    "join_secret",
    "listen_address",
    "secret_key",
    "secrets_key",
    "setting_error",
    "split_address",
]

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
    database_url: SecretStr = Field(
        SecretStr(""),
        description="PostgreSQL URL (postgresql://user:password@host/db): the shared store of"
        " several orchestrators, instead of SQLite in the data dir.",
    )
    secrets_key: SecretStr = Field(
        SecretStr(""),
        description="Key that encrypts secrets at rest (credentials, client secrets, variable"
        " values): base64 of 32 random bytes (openssl rand -base64 32). Empty: not encrypted.",
    )
    secrets_key_file: pathlib.Path | None = Field(
        None,
        description="A file (0600) holding secrets_key, so that the key is not in the"
        " environment (instead of CORRAL_SECRETS_KEY).",
    )
    secrets_old_keys: SecretStr = Field(
        SecretStr(""),
        description="Keys that still decrypt during a rotation (comma-separated); at start,"
        " every secret is encrypted again with the current key.",
    )
    run_lease_seconds: float = Field(
        30.0,
        ge=0.5,
        le=3600,
        allow_inf_nan=False,
        description="How long a run's lease lasts unrenewed: a run whose orchestrator died is"
        " ended by another once it expires (renewed every third of it).",
    )
    callback_host: str = Field("127.0.0.1", description="Address of the runner callback API.")
    callback_port: int = Field(
        0, ge=0, le=65535, description="Port of the runner callback API (0: any)."
    )
    runners: int = Field(
        1, ge=0, le=64, description="Local runner processes to start (0: joined runners only)."
    )
    join_secret: SecretStr = Field(
        SecretStr(""),
        description="Runners that send this secret join the fleet (corral runner"
        " --orchestrator); empty: no runner can join.",
    )
    runner_lost_seconds: float = Field(
        3.0,
        ge=1.0,
        le=600,
        allow_inf_nan=False,
        description="A joined runner silent this long is out of placement; its runs end as"
        " runner_lost.",
    )
    operator_environments: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["dev"],
        description="Environments whose keys may list the runners (comma-separated).",
    )
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
    shutdown_grace_seconds: float = Field(
        10.0, ge=0, le=86_400, allow_inf_nan=False, description="Grace for in-flight runs."
    )
    max_concurrent_runs: int = Field(
        64,
        ge=1,
        le=4096,
        description="Runs executing at once, all environments together (shared fairly).",
    )
    run_retention_days: float = Field(
        30.0,
        ge=0,
        le=MAX_RETENTION_DAYS,
        allow_inf_nan=False,
        description="Days a finished run and its logs are kept (0: forever), in every"
        " environment whose setting retention_days is not set.",
    )
    tls_cert: str = Field(
        "",
        description="PEM certificate of the public API and the callback API (with tls_key):"
        " the public API serves TLS.",
    )
    tls_key: str = Field("", description="PEM private key of tls_cert.")
    tls_ca: str = Field(
        "",
        description="PEM CA certificate: with it, orchestrator-runner traffic is mutual TLS;"
        " runners and the callback API's clients must present a certificate it signed.",
    )
    tls_client_cert: str = Field(
        "", description="PEM certificate the orchestrator presents to runners (with tls_ca)."
    )
    tls_client_key: str = Field("", description="PEM private key of tls_client_cert.")
    runner_tls_cert: str = Field(
        "",
        description="PEM certificate of the local runners (CORRAL_RUNNER_TLS_CERT; with tls_ca).",
    )
    runner_tls_key: str = Field("", description="PEM private key of runner_tls_cert.")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="json, console, or auto (console on a terminal)."
    )
    log_level: str = Field(
        "info",
        description="Lowest level of the service log: debug, info, warn, error or off (any case;"
        " warning is warn).",
    )
    metrics_address: str = Field(
        "",
        description="host:port of the Prometheus endpoint (off when empty); local runners serve"
        " theirs on the next ports.",
    )
    webhook_address: str = Field(
        "",
        description="host:port where providers POST webhooks (/webhook/ENVIRONMENT/INTEGRATION;"
        " off when empty).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        """``WARN``, ``Info``, ``warning``: the level names of ``env settings``, in any case."""
        return level_name(value) if isinstance(value, str) else value

    @field_validator("operator_environments", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """``dev,ops`` as operators write it."""
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("join_secret")
    @classmethod
    def _join_secret(cls, value: SecretStr) -> SecretStr:
        return SecretStr(join_secret(value.get_secret_value()))

    @model_validator(mode="after")
    def _some_runner(self) -> ServeSettings:
        """Runs need a runner: local ones, a fixed address, or joined ones."""
        if self.runners == 0 and not self.runner_address and not self.join_secret:
            raise ValueError(
                "runners: 0 local runners needs CORRAL_JOIN_SECRET (runners join) or"
                " CORRAL_RUNNER_ADDRESS"
            )
        return self

    @field_validator("proxy_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        """``a.example.com,b.example.com`` as operators write it, or a JSON list."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError(
                    f"not a JSON list ({exc}); expected host names separated by commas, or a"
                    ' JSON list such as ["api.example.com"]'
                ) from None
        return [host.strip() for host in value.split(",") if host.strip()]

    @field_validator("proxy_allowed_hosts", mode="after")
    @classmethod
    def _host_names(cls, value: list[str]) -> list[str]:
        """Each entry a host name or an IP address: no scheme, port or path."""
        for host in value:
            if not is_host(host):
                raise ValueError(
                    f"{host!r} is not a host name or an IP address; expected names such as"
                    " api.example.com (no scheme, port or path)"
                )
        return value

    @field_validator("runner_address")
    @classmethod
    def _runner_address(cls, value: str) -> str:
        return value and address(value)

    @field_validator("metrics_address", "webhook_address")
    @classmethod
    def _metrics_address(cls, value: str) -> str:
        return value and listen_address(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr) -> SecretStr:
        return SecretStr(database_url(value.get_secret_value()))

    @field_validator("secrets_key", "secrets_old_keys")
    @classmethod
    def _secrets_keys(cls, value: SecretStr) -> SecretStr:
        for key in value.get_secret_value().split(","):
            if key.strip():
                secrets_key(key)
        return value

    @model_validator(mode="after")
    def _one_secrets_key(self) -> ServeSettings:
        if self.secrets_key.get_secret_value() and self.secrets_key_file is not None:
            raise ValueError(
                "secrets_key_file: set CORRAL_SECRETS_KEY or CORRAL_SECRETS_KEY_FILE, not both"
            )
        return self


class ClientSettings(BaseSettings):
    """Settings of the client commands (deploy, trigger, logs, records, ...): the environment,
    else a ``.env`` file in the current folder (its ``CORRAL_*`` lines; others are ignored),
    as the seeds' CLI reads its keys."""

    model_config = SettingsConfigDict(
        env_prefix="CORRAL_", extra="ignore", env_file=".env", env_file_encoding="utf-8"
    )

    server: str = Field("127.0.0.1:7700", description="Address of the orchestrator's API.")
    secret_key: SecretStr = Field(SecretStr(""), description="The environment's secret key.")
    tls_ca: str = Field(
        "", description="PEM CA certificate: connect over TLS, trusting the servers it signed."
    )

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        return address(value)

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr) -> SecretStr:
        return SecretStr(secret_key(value.get_secret_value()))


def secret_key(value: str) -> str:
    """A secret key as it can travel in a request header: printable ASCII, no spaces.

    Raises:
        ValueError: what is wrong and what is expected (the key itself is not repeated).
    """
    if not all("!" <= char <= "~" for char in value):
        raise ValueError(
            "the key has a space, a line break or a character that is not ASCII; expected the"
            " key exactly as corral env create printed it (sk_...)"
        )
    return value


SECRETS_KEY_BYTES = 32
"""The length of a key of secrets at rest (AES-256)."""


def secrets_key(value: str) -> bytes:
    """A key of secrets at rest as operators write it: base64 (standard or url-safe) of 32
    random bytes.

    Raises:
        ValueError: what is wrong (the key itself is not repeated).
    """
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != SECRETS_KEY_BYTES:
        raise ValueError(
            f"expected the base64 of {SECRETS_KEY_BYTES} random bytes (for example: openssl"
            " rand -base64 32)"
        )
    return key


def database_url(value: str) -> str:
    """A PostgreSQL URL (``postgresql://`` or ``postgres://``), or "" for SQLite.

    Raises:
        ValueError: what is wrong and what is expected (the URL, which may hold a password,
            is not repeated).
    """
    value = value.strip()
    if value and (
        not value.startswith(("postgresql://", "postgres://")) or any(c.isspace() for c in value)
    ):
        raise ValueError(
            "not a PostgreSQL URL; expected postgresql://user:password@host:5432/database"
        )
    return value


def setting_error(err: ValidationError | SettingsError, prefix: str = "CORRAL_") -> InvalidRequest:
    """A settings error as operators read it: the variable, what is wrong, the value given."""
    if isinstance(err, SettingsError):
        return InvalidRequest(f"a setting could not be read: {err}", code="invalid_setting")
    return invalid_setting(err.errors(), prefix)


SETTINGS_PREFIXES: dict[str, str] = {
    **{
        cls.__name__: str(cls.model_config.get("env_prefix", ""))
        for cls in (ServeSettings, ClientSettings)
    },
    RunnerSettings.__name__: RunnerSettings.env_prefix,
}
"""The environment variable prefix of each settings class, by its name (from its own config)."""
