"""How ``corral serve``'s servers listen and how it reaches runners: TLS or loopback plaintext.

* ``CORRAL_TLS_CERT`` and ``CORRAL_TLS_KEY``: the public API serves TLS (clients are known by
  their secret key, not by a certificate).
* ``CORRAL_TLS_CA`` as well: orchestrator-runner traffic is mutual TLS both ways. The callback
  API asks every client for a certificate signed by that CA; the orchestrator presents
  ``CORRAL_TLS_CLIENT_CERT`` to runners and trusts only runners the CA signed. Local runners
  get ``CORRAL_RUNNER_TLS_CERT`` and ``CORRAL_RUNNER_TLS_KEY``.
* Without them, a server listens in plaintext, which is refused anywhere but on loopback.

Every file is read and checked here, before anything starts (``corral._tls``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import grpc

from corral._plaintext import check_plaintext
from corral._settings import ServeSettings
from corral._tls import Setting, Tls, load
from corral.errors import InvalidRequest


@dataclass(frozen=True)
class ServeTransport:
    """The credentials of ``serve``'s servers and channels (None: plaintext)."""

    api: grpc.ServerCredentials | None = None
    callbacks: grpc.ServerCredentials | None = None
    runners: grpc.ChannelCredentials | None = None
    runner_env: dict[str, str] = field(default_factory=dict)
    """Settings for local runners (their certificate, key and CA)."""

    def describe(self) -> dict[str, str]:
        """For the start log line: which traffic is encrypted."""
        return {
            "api_transport": "tls" if self.api else "plaintext",
            "runner_transport": "mtls" if self.callbacks else "plaintext",
        }


def _setting(value: str, variable: str) -> Setting:
    option = variable.removeprefix("CORRAL_").lower().replace("_", "-")
    return Setting(value and os.path.abspath(value), f"{variable} (--{option})")


def _pair(settings: ServeSettings, cert_field: str, key_field: str) -> tuple[Setting, Setting]:
    """The settings of a certificate and its key; one without the other is refused."""
    cert_var, key_var = f"CORRAL_{cert_field.upper()}", f"CORRAL_{key_field.upper()}"
    cert = _setting(getattr(settings, cert_field), cert_var)
    key = _setting(getattr(settings, key_field), key_var)
    if bool(cert.path) != bool(key.path):
        missing, given = (key, cert) if cert.path else (cert, key)
        raise InvalidRequest(
            f"{missing.name}: not set, but {given.name} is; expected both", code="invalid_tls"
        )
    return cert, key


def _required(setting: Setting, why: str) -> None:
    if not setting.path:
        raise InvalidRequest(f"{setting.name}: not set; expected it {why}", code="invalid_tls")


def serve_transport(settings: ServeSettings) -> ServeTransport:
    """Reads and checks the TLS settings of ``serve``.

    Raises:
        InvalidRequest: ``invalid_tls`` (a file that cannot be used, a setting missing), or
            ``plaintext_refused`` (a plaintext server on an address other than loopback).
    """
    cert, key = _pair(settings, "tls_cert", "tls_key")
    ca = _setting(settings.tls_ca, "CORRAL_TLS_CA")
    if not cert.path:
        check_plaintext(settings.host, "CORRAL_HOST", "CORRAL_TLS_CERT and CORRAL_TLS_KEY")
    if not ca.path:
        check_plaintext(
            settings.callback_host,
            "CORRAL_CALLBACK_HOST",
            "CORRAL_TLS_CA (mutual TLS with runners, see corral certs)",
        )
        return ServeTransport(api=load(cert, key).server_credentials() if cert.path else None)
    _required(cert, "with CORRAL_TLS_CA: the certificate of the callback API")
    server = load(cert, key, ca)
    client_cert, client_key = _pair(settings, "tls_client_cert", "tls_client_key")
    _required(client_cert, "with CORRAL_TLS_CA: the certificate presented to runners")
    client = load(client_cert, client_key, ca)
    runner_env = {}
    if not settings.runner_address:
        runner_cert, runner_key = _pair(settings, "runner_tls_cert", "runner_tls_key")
        _required(runner_cert, "with CORRAL_TLS_CA: the certificate of the local runners")
        load(runner_cert, runner_key, ca)  # checked here: one line before anything starts
        runner_env = {
            "CORRAL_RUNNER_TLS_CA": ca.path,
            "CORRAL_RUNNER_TLS_CERT": runner_cert.path,
            "CORRAL_RUNNER_TLS_KEY": runner_key.path,
        }
    return ServeTransport(
        api=Tls(server.identity).server_credentials(),
        callbacks=server.server_credentials(),
        runners=client.channel_credentials(),
        runner_env=runner_env,
    )
