"""TLS files checked at start, and what a peer with the wrong certificate gets: real handshakes
between a gRPC server and channels in this process, with certificates made by corral._certs."""

from __future__ import annotations

import datetime
import pathlib
import stat
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from corral import _certs, _grpc_errors
from corral._certs import Pair, dev_certs, make_ca, make_cert, write_dev_certs
from corral._plaintext import check_plaintext, is_loopback
from corral._tls import Identity, Setting, Tls, load
from corral.errors import AlreadyExists, InvalidRequest, Unavailable

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def made() -> dict[str, Pair]:
    return dev_certs()


def _files(folder: pathlib.Path, pair: Pair, name: str) -> tuple[Setting, Setting]:
    cert, key = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert.write_bytes(pair.cert)
    key.write_bytes(pair.key)
    return Setting(str(cert), "CORRAL_TLS_CERT"), Setting(str(key), "CORRAL_TLS_KEY")


def _ca(folder: pathlib.Path, pair: Pair) -> Setting:
    path = folder / "ca.pem"
    path.write_bytes(pair.cert)
    return Setting(str(path), "CORRAL_TLS_CA")


def test_corral_certs_writes_keys_0600_and_refuses_to_overwrite(tmp_path: pathlib.Path) -> None:
    paths = write_dev_certs(tmp_path / "certs", ["runner-1.internal", "10.0.0.5"])
    assert stat.S_IMODE((tmp_path / "certs").stat().st_mode) == 0o700
    for role, path in paths.items():
        if role.endswith("_key"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, role
    ca = Setting(str(paths["ca"]), "CORRAL_TLS_CA")
    for role in ("orchestrator", "orchestrator_client", "runner"):
        cert, key = Setting(str(paths[role]), "C"), Setting(str(paths[f"{role}_key"]), "K")
        load(cert, key, ca)  # each signed by the CA, with its own key, valid now
    runner = Pair(paths["runner"].read_bytes(), b"").certificate
    names = runner.extensions.get_extension_for_class(_certs.x509.SubjectAlternativeName).value
    assert {str(n.value) for n in names} == {
        "127.0.0.1",
        "localhost",
        "runner-1.internal",
        "10.0.0.5",
    }
    with pytest.raises(AlreadyExists, match="nothing is overwritten"):
        write_dev_certs(tmp_path / "certs")


def test_a_name_that_is_no_host_is_refused_before_anything_is_written(
    tmp_path: pathlib.Path,
) -> None:
    with pytest.raises(InvalidRequest, match="not a host name") as caught:
        write_dev_certs(tmp_path / "certs", ["https://x/"])
    assert caught.value.code == "invalid_name"
    assert not (tmp_path / "certs").exists()


def test_an_expired_certificate_is_named(tmp_path: pathlib.Path, made: dict[str, Pair]) -> None:
    expired = make_cert(
        made["ca"],
        "old",
        not_before=NOW - datetime.timedelta(days=30),
        not_after=NOW - datetime.timedelta(days=1),
    )
    cert, key = _files(tmp_path, expired, "old")
    with pytest.raises(InvalidRequest, match=r"^CORRAL_TLS_CERT: the certificate .* expired on"):
        load(cert, key, _ca(tmp_path, made["ca"]))


def test_a_missing_key_file_is_named(tmp_path: pathlib.Path, made: dict[str, Pair]) -> None:
    cert, _ = _files(tmp_path, made["runner"], "runner")
    missing = Setting(str(tmp_path / "nowhere.pem"), "CORRAL_TLS_KEY")
    with pytest.raises(InvalidRequest, match=r"^CORRAL_TLS_KEY: cannot read .*nowhere\.pem"):
        load(cert, missing)


def test_a_file_that_is_not_pem_is_named(tmp_path: pathlib.Path, made: dict[str, Pair]) -> None:
    cert, key = _files(tmp_path, made["runner"], "runner")
    pathlib.Path(key.path).write_text("not a key")
    with pytest.raises(InvalidRequest, match=r"^CORRAL_TLS_KEY: .* no unencrypted PEM private"):
        load(cert, key)
    pathlib.Path(cert.path).write_text("not a certificate")
    with pytest.raises(InvalidRequest, match=r"^CORRAL_TLS_CERT: .* holds no PEM certificate"):
        load(cert, key)


def test_a_key_of_another_certificate_is_named(
    tmp_path: pathlib.Path, made: dict[str, Pair]
) -> None:
    cert, _ = _files(tmp_path, made["runner"], "runner")
    _, other_key = _files(tmp_path, made["orchestrator"], "orchestrator")
    with pytest.raises(InvalidRequest, match=r"^CORRAL_TLS_KEY: the key in .* is not the key of"):
        load(cert, other_key)


def test_a_ca_that_did_not_sign_the_certificate_is_named(
    tmp_path: pathlib.Path, made: dict[str, Pair]
) -> None:
    cert, key = _files(tmp_path, made["runner"], "runner")
    with pytest.raises(InvalidRequest, match=r"^CORRAL_TLS_CERT: .* is not signed by the CA") as e:
        load(cert, key, _ca(tmp_path, make_ca()))
    assert e.value.code == "invalid_tls"
    assert "CORRAL_TLS_CA" in e.value.message


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])  # noqa: S104 - refused, not bound
def test_plaintext_is_refused_off_loopback(host: str) -> None:
    with pytest.raises(InvalidRequest, match=r"^CORRAL_HOST: .* not a loopback address") as e:
        check_plaintext(host, "CORRAL_HOST", "CORRAL_TLS_CERT and CORRAL_TLS_KEY")
    assert e.value.code == "plaintext_refused"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_plaintext_stays_on_loopback(host: str) -> None:
    assert is_loopback(host)
    check_plaintext(host, "CORRAL_HOST", "CORRAL_TLS_CERT")


def _tls(pair: Pair, ca: Pair | None) -> Tls:
    return Tls(Identity(pair.cert, pair.key), None if ca is None else ca.cert)


@pytest.fixture(scope="module")
def mtls_port(made: dict[str, Pair]) -> Iterator[int]:
    """A server asking for a client certificate signed by the CA, as a runner's does."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_secure_port(
        "127.0.0.1:0", _tls(made["runner"], made["ca"]).server_credentials()
    )
    server.start()
    yield port
    server.stop(None).wait()


def _check(port: int, credentials: grpc.ChannelCredentials | None) -> None:
    target = f"127.0.0.1:{port}"
    with (
        grpc.insecure_channel(target)
        if credentials is None
        else grpc.secure_channel(target, credentials)
    ) as channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.RpcError as exc:
            raise _grpc_errors.from_rpc_error(exc) from None


def test_a_client_certificate_signed_by_the_ca_is_let_in(
    mtls_port: int, made: dict[str, Pair]
) -> None:
    _check(mtls_port, _tls(made["orchestrator_client"], made["ca"]).channel_credentials())


def _refusals(made: dict[str, Pair]) -> dict[str, grpc.ChannelCredentials | None]:
    other = dev_certs()
    expired = make_cert(
        made["ca"], "old", not_before=NOW - datetime.timedelta(days=2), not_after=NOW
    )
    return {
        "no client certificate": grpc.ssl_channel_credentials(made["ca"].cert),
        "a certificate of another CA": _tls(other["runner"], made["ca"]).channel_credentials(),
        "an expired certificate": _tls(expired, made["ca"]).channel_credentials(),
        "a server the client does not trust": _tls(
            made["orchestrator_client"], other["ca"]
        ).channel_credentials(),
        "plaintext to a TLS port": None,
    }


@pytest.mark.parametrize(
    "case",
    [
        "no client certificate",
        "a certificate of another CA",
        "an expired certificate",
        "a server the client does not trust",
        "plaintext to a TLS port",
    ],
)
def test_a_wrong_peer_is_refused_with_a_typed_error(
    mtls_port: int, made: dict[str, Pair], case: str
) -> None:
    with pytest.raises(Unavailable) as caught:
        _check(mtls_port, _refusals(made)[case])
    assert caught.value.code == "tls_refused", caught.value.message
    assert not caught.value.retryable
