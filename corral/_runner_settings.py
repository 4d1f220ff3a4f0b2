"""The settings of ``corral runner`` (prefix ``CORRAL_RUNNER_``), read without pydantic
(``corral._plain_settings``): the runner host process imports no settings library."""

from __future__ import annotations

from typing import ClassVar

from corral._plain_settings import Flag, Integer, Number, OptionalPath, PlainSettings, Text
from corral._setting_checks import address, listen_address


def _given_address(value: str) -> str:
    return value and address(value)


def _given_listen_address(value: str) -> str:
    return value and listen_address(value)


class RunnerSettings(PlainSettings):
    """Settings of ``corral runner``: one runner host."""

    env_prefix: ClassVar[str] = "CORRAL_RUNNER_"

    host = Text("127.0.0.1", "Address the Runner API listens on.")
    port = Integer(0, "Port of the Runner API (0: any).", ge=0, le=65535)
    callbacks = Text("", "Address of the orchestrator's callback API.", _given_address)
    prewarm_workers = Integer(2, "Idle workers kept ready.", ge=0, le=64)
    strict_containment = Flag(False, "Refuse to run when a layer is missing.")
    max_concurrent_runs = Integer(64, "Runs executing at once.", ge=1)
    orchestrator = Text(
        "", "Join the fleet of the orchestrator at this callback address.", _given_address
    )
    join_secret_file = OptionalPath(
        None,
        "A file (0600) holding the fleet's join secret, read after the warm parent is forked so"
        " that no worker's memory holds it.",
    )
    advertise = Text(
        "",
        "Where orchestrators reach this runner (host:port; default host:port).",
        _given_address,
    )
    drain_seconds = Number(
        60.0, "At SIGTERM, how long runs in progress may take to finish.", ge=0, le=86_400
    )
    metrics_address = Text(
        "", "host:port of the Prometheus endpoint (off when empty).", _given_listen_address
    )
    tls_ca = Text(
        "",
        "PEM CA certificate: the Runner API and the channel to the callback API are mutual TLS;"
        " peers must present a certificate it signed.",
    )
    tls_cert = Text("", "PEM certificate the runner presents (with tls_ca).")
    tls_key = Text("", "PEM private key of tls_cert.")

    def check(self) -> None:
        """Joining an orchestrator needs the join secret's file."""
        if self.orchestrator and self.join_secret_file is None:
            raise ValueError(
                "join_secret_file: joining an orchestrator needs the file of its join secret"
            )
