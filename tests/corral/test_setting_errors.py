"""Start-up mistakes an operator makes are clear, typed errors, never a Python traceback."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from corral._settings import ServeSettings


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


@pytest.mark.parametrize(
    ("args", "env", "variable"),
    [
        (("serve",), {"CORRAL_PORT": "abc"}, "CORRAL_PORT"),
        (("serve",), {"CORRAL_RUNNERS": "0"}, "CORRAL_RUNNERS"),
        (
            ("runner", "--callbacks", "127.0.0.1:1"),
            {"CORRAL_RUNNER_PORT": "x"},
            "CORRAL_RUNNER_PORT",
        ),
    ],
)
def test_a_bad_setting_names_its_variable(
    args: tuple[str, ...], env: dict[str, str], variable: str, tmp_path: pathlib.Path
) -> None:
    done = _corral(*args, CORRAL_DATA_DIR=str(tmp_path), **env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    error = json.loads(done.stderr)
    assert error["error_type"] == "invalid_setting"
    assert error["message"].startswith(variable + ":")


def test_env_settings_without_a_store_says_so(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nothing-here"
    done = _corral("env", "settings", "dev", "--data-dir", str(missing))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert json.loads(done.stderr)["error_type"] == "no_store"
    assert not missing.exists()  # looking did not create it


def test_allowed_hosts_are_written_as_operators_write_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORRAL_PROXY_ALLOWED_HOSTS", "api.example.com, b.example.com")
    assert ServeSettings().proxy_allowed_hosts == ["api.example.com", "b.example.com"]
    monkeypatch.setenv("CORRAL_PROXY_ALLOWED_HOSTS", '["c.example.com"]')
    assert ServeSettings().proxy_allowed_hosts == ["c.example.com"]
