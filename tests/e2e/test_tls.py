"""The whole path over TLS, with certificates made by ``corral certs``: a real ``corral serve``
whose public API serves TLS (on every address) and whose runners and callback API speak mutual
TLS; then every peer without the right certificate is refused, with a typed error on its side
and gRPC's handshake line on the server's."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral import _grpc_errors
from corral._certs import Pair, dev_certs, make_cert
from corral.cli import Client
from corral.errors import CorralError, Unavailable
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi
from tests.support.service import Service, running_service

pytestmark = pytest.mark.slow

ACTION = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    response = nango.get(endpoint='/items/7')\n"
    "    nango.log('fetched over mTLS')\n"
    "    return {'name': response.data['title']}\n"
    "action = create_action(description='one item', exec=run)\n"
)


def _corral(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``corral certs`` printed: the files and the settings of each process."""
    made = _corral("certs", str(tmp_path_factory.mktemp("tls") / "certs"))
    assert made.returncode == 0, made.stderr
    return dict(json.loads(made.stdout))


@pytest.fixture(scope="module")
def tls_service(
    tmp_path_factory: pytest.TempPathFactory, certs: dict[str, Any]
) -> Iterator[Service]:
    # 0.0.0.0: with TLS on, the public API may listen on every address.
    settings = {"CORRAL_HOST": "0.0.0.0", **certs["serve"]}  # noqa: S104
    with running_service(tmp_path_factory.mktemp("serve") / "data", **settings) as svc:
        yield svc
    assert svc.process.returncode == 0, svc.stderr_path.read_text()[-2000:]


def _lines(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _event(path: pathlib.Path, event: str) -> dict[str, Any]:
    return next(line for line in _lines(path) if line.get("event") == event)


def _ca(certs: dict[str, Any]) -> bytes:
    return pathlib.Path(certs["files"]["ca"]).read_bytes()


def _pair(certs: dict[str, Any], role: str) -> tuple[bytes, bytes]:
    files = certs["files"]
    return pathlib.Path(files[f"{role}_key"]).read_bytes(), pathlib.Path(files[role]).read_bytes()


def test_an_action_with_a_callback_runs_over_tls_end_to_end(
    tls_service: Service, certs: dict[str, Any], fake_api: FakeApi
) -> None:
    fake_api.route("GET", "/items/7", body={"title": "Lamp"})
    with Client(tls_service.address, tls_service.secret_key, tls_ca=_ca(certs)) as client:
        client.call("Deploy", pb.DeployRequest(integration="shop", files={"get.py": ACTION}))
        client.call(
            "CreateIntegration",
            pb.CreateIntegrationRequest(
                unique_key="shop", base_url=fake_api.url, auth_mode="API_KEY"
            ),
        )
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(
                integration="shop",
                connection_id="c1",
                credentials_json=json.dumps({"type": "API_KEY", "api_key": "k"}),
            ),
        )
        response = client.call(
            "TriggerAction", pb.TriggerActionRequest(action_name="get", connection_id="c1")
        )
        logs = client.call("GetRunLogs", pb.GetRunLogsRequest(run_id=response.run_id))
    assert json.loads(response.output_json) == {"name": "Lamp"}  # the proxy call: a callback
    assert [line.message for line in logs.lines] == ["fetched over mTLS"]  # and the log's
    started = _event(tls_service.stderr_path, "orchestrator started")
    assert started["api_transport"] == "tls"
    assert started["runner_transport"] == "mtls"
    assert _event(tls_service.stderr_path, "runner started")["transport"] == "mtls"


def test_the_cli_connects_with_the_ca_file(tls_service: Service, certs: dict[str, Any]) -> None:
    env = {"CORRAL_SERVER": tls_service.address, "CORRAL_SECRET_KEY": tls_service.secret_key}
    listed = _corral("runs", "--tls-ca", certs["files"]["ca"], **env)
    assert listed.returncode == 0, listed.stderr
    healthy = _corral("health", **env, **certs["client"])
    assert healthy.stdout.strip() == "SERVING", healthy.stderr
    plaintext = _corral("runs", "--json", **env)
    assert plaintext.returncode == 1
    assert json.loads(plaintext.stderr)["error_type"] == "tls_refused"


def _call_health(port: int, credentials: grpc.ChannelCredentials | None) -> None:
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


def _wrong_peers(certs: dict[str, Any]) -> dict[str, grpc.ChannelCredentials | None]:
    ca_cert, ca_key = pathlib.Path(certs["files"]["ca"]), pathlib.Path(certs["files"]["ca_key"])
    ca = Pair(ca_cert.read_bytes(), ca_key.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    expired = make_cert(
        ca, "old runner", not_before=now - datetime.timedelta(days=2), not_after=now
    )
    stranger = dev_certs()["runner"]
    return {
        "no client certificate": grpc.ssl_channel_credentials(ca.cert),
        "a certificate of another CA": grpc.ssl_channel_credentials(
            ca.cert, stranger.key, stranger.cert
        ),
        "an expired certificate": grpc.ssl_channel_credentials(ca.cert, expired.key, expired.cert),
        "plaintext": None,
    }


@pytest.mark.parametrize("server", ["callback API", "Runner API"])
def test_a_peer_without_the_right_certificate_is_refused_on_both_sides(
    tls_service: Service, certs: dict[str, Any], server: str
) -> None:
    stderr = tls_service.stderr_path  # the runners' too: they write to serve's standard error
    if server == "callback API":
        port = int(_event(stderr, "orchestrator started")["callback_port"])
    else:
        port = int(_event(stderr, "runner started")["port"])
    good = grpc.ssl_channel_credentials(_ca(certs), *_pair(certs, "orchestrator_client"))
    try:
        _call_health(port, good)
        past_handshake = "answered"
    except CorralError as err:  # past the handshake: the callback API asks for a run token
        past_handshake = err.code
    assert past_handshake != "tls_refused"
    before = stderr.read_text().count("Handshake failed")
    for case, credentials in _wrong_peers(certs).items():
        with pytest.raises(Unavailable) as caught:
            _call_health(port, credentials)
        assert caught.value.code == "tls_refused", (case, caught.value.message)
    # The server's side: gRPC logs each refused handshake (a plaintext client is no TLS).
    deadline = time.monotonic() + 10
    while stderr.read_text().count("Handshake failed") < before + 3:
        assert time.monotonic() < deadline, stderr.read_text()[-3000:]
        time.sleep(0.05)


def test_a_runner_of_another_ca_is_refused_with_a_log_line(
    tmp_path: pathlib.Path, certs: dict[str, Any]
) -> None:
    """The orchestrator, as the runner's client, checks its certificate first and refuses it:
    an error line with ``tls_refused``. (TLS 1.3 aborts there, so the runner's gRPC sees a
    closed connection and logs nothing; a client the runner refuses is logged on its side, see
    the test above.)"""
    made = _corral("certs", str(tmp_path / "stranger"))
    assert made.returncode == 0, made.stderr
    runner_settings = json.loads(made.stdout)["runner"]
    port_file, runner_log = tmp_path / "runner.port", tmp_path / "runner.stderr"
    command = [sys.executable, "-m", "corral", "runner", "--callbacks", "127.0.0.1:9",
               "--port-file", str(port_file), "--log-format", "json"]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    with runner_log.open("w") as log:
        runner = subprocess.Popen(command, env=clean | runner_settings, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert runner.poll() is None, runner_log.read_text()
            assert time.monotonic() < deadline, "the runner did not start"
            time.sleep(0.05)
        address = f"127.0.0.1:{port_file.read_text()}"
        settings = {**certs["serve"], "CORRAL_RUNNER_ADDRESS": address}
        with running_service(tmp_path / "data", **settings) as svc:
            refused = _event(svc.stderr_path, "runner refused: TLS handshake failed")
            assert refused["code"] == "tls_refused"
            assert refused["level"] == "error"
            # A run sent to it fails at once, typed, instead of waiting for its time limit.
            started = time.monotonic()
            with Client(svc.address, svc.secret_key) as client, pytest.raises(CorralError) as run:
                client.call("Deploy", pb.DeployRequest(integration="shop", files={"a.py": ACTION}))
            assert run.value.code == "tls_refused"
            assert time.monotonic() - started < 30
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=30)


@pytest.mark.parametrize(
    ("problem", "starts"),
    [
        ("expired", "corral serve: invalid_tls: CORRAL_TLS_CERT (--tls-cert): the certificate"),
        ("missing key", "corral serve: invalid_tls: CORRAL_TLS_KEY (--tls-key): cannot read"),
        ("another key", "corral serve: invalid_tls: CORRAL_TLS_KEY (--tls-key): the key in"),
        ("another CA", "corral serve: invalid_tls: CORRAL_TLS_CERT (--tls-cert): the certif"),
        ("plaintext off loopback", "corral serve: plaintext_refused: CORRAL_HOST: '0.0.0.0'"),
        ("no client cert", "corral serve: invalid_tls: CORRAL_TLS_CLIENT_CERT (--tls-client-c"),
    ],
)
def test_bad_tls_settings_are_one_line_before_anything_starts(
    tmp_path: pathlib.Path, certs: dict[str, Any], problem: str, starts: str
) -> None:
    settings = dict(certs["serve"])
    ca = Pair(
        pathlib.Path(certs["files"]["ca"]).read_bytes(),
        pathlib.Path(certs["files"]["ca_key"]).read_bytes(),
    )
    now = datetime.datetime.now(datetime.UTC)
    if problem == "expired":
        old = make_cert(ca, "old", not_before=now - datetime.timedelta(days=9), not_after=now)
        (tmp_path / "old.pem").write_bytes(old.cert)
        (tmp_path / "old-key.pem").write_bytes(old.key)
        settings |= {"CORRAL_TLS_CERT": str(tmp_path / "old.pem")}
        settings |= {"CORRAL_TLS_KEY": str(tmp_path / "old-key.pem")}
    elif problem == "missing key":
        settings["CORRAL_TLS_KEY"] = str(tmp_path / "gone-key.pem")
    elif problem == "another key":
        settings["CORRAL_TLS_KEY"] = certs["files"]["runner_key"]
    elif problem == "another CA":
        stranger = dev_certs()["ca"]
        (tmp_path / "ca.pem").write_bytes(stranger.cert)
        settings["CORRAL_TLS_CA"] = str(tmp_path / "ca.pem")
    elif problem == "plaintext off loopback":
        settings = {"CORRAL_HOST": "0.0.0.0"}  # noqa: S104 - refused, not bound
    else:
        del settings["CORRAL_TLS_CLIENT_CERT"], settings["CORRAL_TLS_CLIENT_KEY"]
    data_dir = tmp_path / "data"
    done = _corral("serve", CORRAL_DATA_DIR=str(data_dir), CORRAL_PORT="0", **settings)
    assert done.returncode == 1
    assert done.stderr.startswith(starts), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not data_dir.exists()  # nothing was started


def test_a_runner_refuses_plaintext_off_loopback_and_a_partial_tls_setting(
    certs: dict[str, Any],
) -> None:
    runner = ("runner", "--callbacks", "127.0.0.1:9", "--port", "0")
    plaintext = _corral(*runner, "--host", "0.0.0.0")  # noqa: S104 - refused, not bound
    assert plaintext.returncode == 1
    assert plaintext.stderr.startswith(
        "corral runner: plaintext_refused: CORRAL_RUNNER_HOST: '0.0.0.0' is not a loopback"
    ), plaintext.stderr
    partial = _corral(*runner, "--tls-cert", certs["files"]["runner"])
    assert partial.returncode == 1
    assert partial.stderr.startswith(
        "corral runner: invalid_tls: CORRAL_RUNNER_TLS_CA (--tls-ca): not set"
    ), partial.stderr
    assert len(partial.stderr.strip().splitlines()) == 1
