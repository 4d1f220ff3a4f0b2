"""Start-up mistakes an operator makes are clear, typed errors, never a Python traceback."""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import sys
from typing import get_args

import pytest
import structlog

from corral import _logging
from corral._logging import LOG_LEVELS
from corral._settings import ServeSettings
from orchestrator._env_settings import EnvironmentSettings


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
        (("serve",), {"CORRAL_LOG_LEVEL": "loud"}, "CORRAL_LOG_LEVEL"),
        (("serve",), {"CORRAL_LOG_LEVEL": ""}, "CORRAL_LOG_LEVEL"),
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
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
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


def test_a_bad_log_level_says_which_levels_exist(tmp_path: pathlib.Path) -> None:
    done = _corral("serve", CORRAL_DATA_DIR=str(tmp_path), CORRAL_LOG_LEVEL="verbose")
    assert done.returncode == 1
    message = json.loads(done.stderr)["message"]
    assert message.startswith("CORRAL_LOG_LEVEL:")
    assert "expected one of debug, info, warn, error, off" in message
    assert "'verbose'" in message


@pytest.mark.parametrize(
    ("given", "level"),
    [("WARN", "warn"), ("Info", "info"), ("warning", "warn"), ("Warning", "warn"), ("off", "off")],
)
def test_the_log_level_takes_the_env_settings_names_in_any_case(
    monkeypatch: pytest.MonkeyPatch, given: str, level: str
) -> None:
    monkeypatch.setenv("CORRAL_LOG_LEVEL", given)
    assert ServeSettings().log_level == level


def test_the_service_and_environments_name_the_same_levels() -> None:
    environment_levels = get_args(EnvironmentSettings.model_fields["log_level"].annotation)
    assert tuple(environment_levels) == LOG_LEVELS


@pytest.mark.parametrize("level", ["WARN", "warn", "warning"])
def test_warn_logs_warnings_and_errors_only(level: str) -> None:
    out = io.StringIO()
    _logging.configure("json", level, stream=out)
    try:
        log = structlog.get_logger("test")
        log.info("an info line")
        log.warning("a warning line")
        log.error("an error line")
    finally:
        _logging.configure("json", "info")
    events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert events == ["a warning line", "an error line"]
