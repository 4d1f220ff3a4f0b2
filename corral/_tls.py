"""TLS for gRPC servers and channels: certificate files read and checked once, at start.

Every problem with a file is one clear line naming the setting it came from (``invalid_tls``):
a file missing or unreadable, not PEM, a key that is not the certificate's, a certificate
expired or not yet valid, a certificate the configured CA did not sign. gRPC would otherwise
start and fail each handshake later, or not start with a message naming no setting.

Plaintext is served only on loopback (``plaintext_refused`` otherwise: ``corral._plaintext``,
which needs no cryptography).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from corral.errors import InvalidRequest

CODE = "invalid_tls"
"""The error code of a certificate, key or CA file that cannot be used."""


@dataclass(frozen=True)
class Setting:
    """A file setting: its value (a path, "" when not set) and the names operators set it by."""

    path: str
    name: str


@dataclass(frozen=True)
class Identity:
    """A certificate (chain) and its private key, as PEM, checked."""

    cert: bytes
    key: bytes


@dataclass(frozen=True)
class Tls:
    """What a process presents and trusts: its identity, and the CA its peers' certificates
    must be signed by (None: peers are not checked; a server then asks no client certificate)."""

    identity: Identity
    ca: bytes | None = None

    def server_credentials(self) -> grpc.ServerCredentials:
        """A server's: with a CA, a client without a certificate signed by it is refused."""
        return grpc.ssl_server_credentials(
            [(self.identity.key, self.identity.cert)],
            root_certificates=self.ca,
            require_client_auth=self.ca is not None,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """A client's: presents the identity, trusts servers signed by the CA."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca,
            private_key=self.identity.key,
            certificate_chain=self.identity.cert,
        )


def _error(setting: Setting, problem: str, expected: str) -> InvalidRequest:
    return InvalidRequest(f"{setting.name}: {problem}; {expected}", code=CODE)


def read_file(setting: Setting, what: str) -> bytes:
    """The bytes of the file a setting names.

    Raises:
        InvalidRequest: ``invalid_tls``, it cannot be read.
    """
    try:
        with open(setting.path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise _error(
            setting,
            f"cannot read {setting.path} ({exc.strerror or exc})",
            f"expected a {what} file this process can read",
        ) from None


def _certificates(setting: Setting, what: str) -> list[x509.Certificate]:
    data = read_file(setting, what)
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
    if not found:
        raise _error(
            setting, f"{setting.path} holds no PEM certificate", f"expected a {what} in PEM"
        )
    return found


def _check_dates(setting: Setting, cert: x509.Certificate, now: datetime.datetime) -> None:
    if now > cert.not_valid_after_utc:
        raise _error(
            setting,
            f"the certificate in {setting.path} expired on {cert.not_valid_after_utc:%Y-%m-%d}",
            "expected a certificate valid now (make a new one, e.g. with corral certs)",
        )
    if now < cert.not_valid_before_utc:
        raise _error(
            setting,
            f"the certificate in {setting.path} is not valid before"
            f" {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
            "expected a certificate valid now (is this machine's clock right?)",
        )


def _private_key(setting: Setting) -> tuple[bytes, PrivateKeyTypes]:
    data = read_file(setting, "PEM private key")
    try:
        return data, serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise _error(
            setting,
            f"{setting.path} holds no unencrypted PEM private key",
            "expected the certificate's private key in PEM, without a passphrase",
        ) from None


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signed_by(chain: list[x509.Certificate], cas: list[x509.Certificate]) -> bool:
    """Whether a certificate of the chain (the leaf, or an intermediate) was issued by a CA."""
    for cert in chain:
        for ca in cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
    return False


def load(
    cert: Setting, key: Setting, ca: Setting | None = None, now: datetime.datetime | None = None
) -> Tls:
    """Reads and checks a certificate, its key and (if set) the CA peers must be signed by.

    Raises:
        InvalidRequest: ``invalid_tls``, naming the setting of the file at fault.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    chain = _certificates(cert, "PEM certificate")
    _check_dates(cert, chain[0], now)
    key_bytes, private_key = _private_key(key)
    if _spki(private_key.public_key()) != _spki(chain[0].public_key()):
        raise _error(
            key,
            f"the key in {key.path} is not the key of the certificate in {cert.path} ({cert.name})",
            "expected the private key made with that certificate",
        )
    ca_bytes = None
    if ca is not None and ca.path:
        cas = _certificates(ca, "PEM CA certificate")
        for one in cas:
            _check_dates(ca, one, now)
        if not _signed_by(chain, cas):
            raise _error(
                cert,
                f"the certificate in {cert.path} is not signed by the CA in {ca.path} ({ca.name})",
                "expected a certificate issued by that CA",
            )
        ca_bytes = read_file(ca, "PEM CA certificate")
    return Tls(Identity(read_file(cert, "PEM certificate"), key_bytes), ca_bytes)


def load_ca(ca: Setting, now: datetime.datetime | None = None) -> bytes:
    """The CA file a client trusts servers by, checked.

    Raises:
        InvalidRequest: ``invalid_tls``, naming the setting.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    for one in _certificates(ca, "PEM CA certificate"):
        _check_dates(ca, one, now)
    return read_file(ca, "PEM CA certificate")
