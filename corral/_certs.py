"""Development certificates: a CA and the certificates its orchestrators and runners present.

What ``corral certs`` writes, and what the tests make their own certificates with (an expired
one, one from another CA). Keys are ECDSA P-256: small, fast to make, and accepted by gRPC.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pathlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from corral.errors import AlreadyExists, InvalidRequest

DEFAULT_NAMES = ("127.0.0.1", "localhost")
"""Names every certificate made here is valid for (the one-machine default)."""
DEFAULT_DAYS = 365


@dataclass(frozen=True)
class Pair:
    """A certificate and its private key, as PEM."""

    cert: bytes
    key: bytes

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed certificate."""
        return x509.load_pem_x509_certificate(self.cert)

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """The parsed private key."""
        key = serialization.load_pem_private_key(self.key, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("expected an ECDSA key, as make_ca and make_cert make")
        return key


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "corral development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


_HOST_NAME = re.compile(r"(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    """The names as IP addresses and DNS names.

    Raises:
        InvalidRequest: ``invalid_name``, a name that is neither.
    """
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):  # once each, in order
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            if not _HOST_NAME.fullmatch(name):
                raise InvalidRequest(
                    f"--name: {name!r} is not a host name or an IP address; expected names"
                    " such as runner-1.internal or 10.0.0.5",
                    code="invalid_name",
                ) from None
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def make_ca(common_name: str = "corral development CA", days: int = DEFAULT_DAYS) -> Pair:
    """A self-signed CA certificate valid for ``days`` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Pair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def make_cert(
    ca: Pair,
    common_name: str,
    names: Sequence[str] = DEFAULT_NAMES,
    *,
    server: bool = True,
    client: bool = True,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Pair:
    """A certificate signed by ``ca`` for ``names`` (host names or IP addresses).

    Args:
        ca: the signing CA.
        common_name: the subject's name (runner, orchestrator...).
        names: the subject alternative names a client checks the server's address against.
        server, client: the extended key usages (TLS server, TLS client).
        not_before, not_after: the validity (default: from five minutes ago, for a year).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    usages = [
        *([ExtendedKeyUsageOID.SERVER_AUTH] if server else []),
        *([ExtendedKeyUsageOID.CLIENT_AUTH] if client else []),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after or now + datetime.timedelta(days=DEFAULT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(ca.private_key(), hashes.SHA256())
    )
    return Pair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


DEV_FILES = {
    "ca": ("ca.pem", "ca-key.pem"),
    "orchestrator": ("orchestrator.pem", "orchestrator-key.pem"),
    "orchestrator_client": ("orchestrator-client.pem", "orchestrator-client-key.pem"),
    "runner": ("runner.pem", "runner-key.pem"),
}
"""What ``write_dev_certs`` writes, by role: (certificate, key) file names."""


def dev_certs(names: Sequence[str] = ()) -> dict[str, Pair]:
    """A CA and, signed by it: the orchestrator's server certificate (public API and
    callbacks), its client certificate (to runners), and a runner's (server and client)."""
    every = [*DEFAULT_NAMES, *names]
    ca = make_ca()
    return {
        "ca": ca,
        "orchestrator": make_cert(ca, "corral orchestrator", every, client=False),
        "orchestrator_client": make_cert(ca, "corral orchestrator client", every, server=False),
        "runner": make_cert(ca, "corral runner", every),
    }


def write_dev_certs(folder: pathlib.Path, names: Sequence[str] = ()) -> dict[str, pathlib.Path]:
    """Writes :func:`dev_certs` into ``folder`` (made 0700); keys are 0600. Returns the paths by
    ``role`` and ``role_key``.

    Raises:
        AlreadyExists: ``certificates_exist``, a file of the set is there already.
        InvalidRequest: ``invalid_folder``, the folder cannot be made or written.
    """
    paths = {role: [folder / name for name in files] for role, files in DEV_FILES.items()}
    taken = [str(path) for pair in paths.values() for path in pair if path.exists()]
    if taken:
        raise AlreadyExists(
            f"{taken[0]} exists; expected an empty folder (nothing is overwritten)",
            code="certificates_exist",
        )
    made = dev_certs(names)  # a bad name is refused before anything is written
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for role, (cert_path, key_path) in paths.items():
            _write(key_path, made[role].key, 0o600)
            _write(cert_path, made[role].cert, 0o644)
    except OSError as exc:
        raise InvalidRequest(
            f"cannot write into {folder}: {exc.strerror or exc}", code="invalid_folder"
        ) from None
    out: dict[str, pathlib.Path] = {}
    for role, (cert_path, key_path) in paths.items():
        out[role] = cert_path
        out[f"{role}_key"] = key_path
    return out


def _write(path: pathlib.Path, data: bytes, mode: int) -> None:
    """Creates ``path`` with ``mode`` from the start (a key is never readable by others)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
