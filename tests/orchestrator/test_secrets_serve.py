"""Secrets at rest as an operator meets them: a real ``corral serve`` with a key file seals what
the API stores and functions still read it; without a key it says so at start; a key that does
not open the store stops it at start with one clear error."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import subprocess
import sys

import pytest

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e import sdk_helpers as h
from tests.support.service import running_service

FILES = {
    "reveal.py": (
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    # Reversed: the run's output is stored, and must not hold the plaintext itself.\n"
        "    integration = nango.get_integration(include=['credentials'])\n"
        "    return {'api_key': nango.get_connection()['credentials']['api_key'][::-1],\n"
        "            'client_secret': integration['credentials']['client_secret'][::-1],\n"
        "            'variables': [v['value'][::-1] for v in nango.get_environment_variables()]}\n"
        "action = create_action(description='reveal', exec=run)\n"
    ),
}
API_KEY = "apikey-plaintext-91c4"
CLIENT_SECRET = "cs-plaintext-0b7e"
VARIABLE = "var-plaintext-d2a8"


def _key_file(tmp_path: pathlib.Path, name: str, seed: int) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(base64.b64encode(bytes((seed + i) % 256 for i in range(32))).decode() + "\n")
    path.chmod(0o600)
    return path


def _log_lines(path: pathlib.Path) -> list[dict[str, object]]:
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def _raw(data_dir: pathlib.Path) -> bytes:
    return b"".join(path.read_bytes() for path in data_dir.glob("corral.db*"))


def test_serve_with_a_key_file_seals_secrets_and_functions_still_read_them(
    tmp_path: pathlib.Path,
) -> None:
    data_dir = tmp_path / "data"
    key = _key_file(tmp_path, "secrets.key", 7)
    with running_service(data_dir, CORRAL_SECRETS_KEY_FILE=str(key)) as service:
        secret_key = service.secret_key
        with Client(service.address, secret_key, timeout=60) as client:
            h.setup(
                client,
                "tools",
                FILES,
                "https://api.example.com",
                auth_mode="API_KEY",
                credentials={"type": "API_KEY", "api_key": API_KEY},
                auth_config={"client_id": "cid", "client_secret": CLIENT_SECRET},
            )
            variables = [pb.EnvironmentVariable(name="API_SECRET", value=VARIABLE)]
            client.call(
                "SetEnvironmentVariables", pb.SetEnvironmentVariablesRequest(variables=variables)
            )
            out = h.action(client, "reveal")
        assert out["api_key"] == API_KEY[::-1]
        assert out["client_secret"] == CLIENT_SECRET[::-1]
        assert out["variables"] == [VARIABLE[::-1]]
        raw = _raw(data_dir)
        for plaintext in (API_KEY, CLIENT_SECRET, VARIABLE):
            assert plaintext.encode() not in raw
        assert b"corral-sealed:v1:" in raw
    logs = _log_lines(service.stderr_path)
    assert not any("not encrypted" in str(line.get("event")) for line in logs)
    (started,) = [line for line in logs if line.get("event") == "orchestrator started"]
    assert started["secrets_key_id"]
    assert key.read_text().strip() not in service.stderr_path.read_text()
    for path in data_dir.glob("corral.db*"):
        assert path.stat().st_mode & 0o777 == 0o600, path.name

    # A restart with a new key and the old one kept: everything is sealed again, and readable.
    new_key = _key_file(tmp_path, "secrets-2.key", 99)
    old = key.read_text().strip()
    with running_service(
        data_dir, CORRAL_SECRETS_KEY_FILE=str(new_key), CORRAL_SECRETS_OLD_KEYS=old
    ) as service:
        with Client(service.address, secret_key, timeout=60) as client:
            out = h.action(client, "reveal")
        assert out == {
            "api_key": API_KEY[::-1],
            "client_secret": CLIENT_SECRET[::-1],
            "variables": [VARIABLE[::-1]],
        }
    rotated = _log_lines(service.stderr_path)
    (started_again,) = [line for line in rotated if line.get("event") == "orchestrator started"]
    assert started_again["secrets_key_id"] != started["secrets_key_id"]
    assert started["secrets_key_id"] in started_again["secrets_old_key_ids"]  # type: ignore[operator]
    assert str(started["secrets_key_id"]).encode() not in _raw(data_dir)

    # The old key alone no longer opens the store: one clear error at start, naming the setting.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env |= {
        "CORRAL_DATA_DIR": str(data_dir),
        "CORRAL_PORT": "0",
        "CORRAL_SECRETS_KEY_FILE": str(key),
        "CORRAL_LOG_FORMAT": "json",
    }
    refused = subprocess.run(
        [sys.executable, "-m", "corral", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "secrets_key_wrong" in refused.stderr
    assert "CORRAL_SECRETS_KEY" in refused.stderr
    assert old not in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_without_a_key_says_at_start_that_secrets_are_not_encrypted(
    tmp_path: pathlib.Path,
) -> None:
    with running_service(tmp_path / "data") as service:
        pass
    warnings = [
        line
        for line in _log_lines(service.stderr_path)
        if "secrets are not encrypted" in str(line.get("event"))
    ]
    assert len(warnings) == 1
    assert warnings[0]["level"] in ("warn", "warning")
    assert "CORRAL_SECRETS_KEY_FILE" in str(warnings[0]["event"])


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"CORRAL_SECRETS_KEY": "c2hvcnQ="}, "CORRAL_SECRETS_KEY"),
        ({"CORRAL_SECRETS_KEY_FILE": "/nonexistent/secrets.key"}, "CORRAL_SECRETS_KEY_FILE"),
    ],
)
def test_a_malformed_or_missing_key_is_one_clear_line_at_start(
    tmp_path: pathlib.Path, settings: dict[str, str], named: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env |= {"CORRAL_DATA_DIR": str(tmp_path / "data"), "CORRAL_PORT": "0"} | settings
    refused = subprocess.run(
        [sys.executable, "-m", "corral", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert named in refused.stderr
    assert "invalid_setting" in refused.stderr
    assert "c2hvcnQ=" not in refused.stderr
    assert "Traceback" not in refused.stderr
