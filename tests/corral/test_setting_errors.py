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
from corral._settings import ServeSettings, address
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
        (("serve",), {"CORRAL_LOG_FORMAT": "xml"}, "CORRAL_LOG_FORMAT"),
        (("serve",), {"CORRAL_PORT": "70000"}, "CORRAL_PORT"),
        (("serve",), {"CORRAL_PREWARM_WORKERS": "-1"}, "CORRAL_PREWARM_WORKERS"),
        (("serve",), {"CORRAL_STRICT_CONTAINMENT": "maybe"}, "CORRAL_STRICT_CONTAINMENT"),
        (("serve",), {"CORRAL_PROXY_ALLOW_PRIVATE": "maybe"}, "CORRAL_PROXY_ALLOW_PRIVATE"),
        (("serve",), {"CORRAL_PROXY_ALLOWED_HOSTS": "[1,2"}, "CORRAL_PROXY_ALLOWED_HOSTS"),
        (("serve",), {"CORRAL_PROXY_ALLOWED_HOSTS": '{"a": 1}'}, "CORRAL_PROXY_ALLOWED_HOSTS"),
        (
            ("serve",),
            {"CORRAL_PROXY_ALLOWED_HOSTS": "https://api.example.com"},
            "CORRAL_PROXY_ALLOWED_HOSTS",
        ),
        (("serve",), {"CORRAL_RUNNER_ADDRESS": "not an address"}, "CORRAL_RUNNER_ADDRESS"),
        (("serve",), {"CORRAL_SHUTDOWN_GRACE_SECONDS": "inf"}, "CORRAL_SHUTDOWN_GRACE_SECONDS"),
        (("serve",), {"CORRAL_SHUTDOWN_GRACE_SECONDS": "-1"}, "CORRAL_SHUTDOWN_GRACE_SECONDS"),
        (("serve",), {"CORRAL_RUN_RETENTION_DAYS": "1e9"}, "CORRAL_RUN_RETENTION_DAYS"),
        (("serve",), {"CORRAL_RUN_RETENTION_DAYS": "nan"}, "CORRAL_RUN_RETENTION_DAYS"),
        (("runner",), {"CORRAL_RUNNER_CALLBACKS": "nope"}, "CORRAL_RUNNER_CALLBACKS"),
        (
            ("runner", "--callbacks", "127.0.0.1:1"),
            {"CORRAL_RUNNER_MAX_CONCURRENT_RUNS": "0"},
            "CORRAL_RUNNER_MAX_CONCURRENT_RUNS",
        ),
        (
            ("runner", "--callbacks", "127.0.0.1:1"),
            {"CORRAL_RUNNER_STRICT_CONTAINMENT": "x"},
            "CORRAL_RUNNER_STRICT_CONTAINMENT",
        ),
        (("runs",), {"CORRAL_SERVER": "not an address", "CORRAL_SECRET_KEY": "k"}, "CORRAL_SERVER"),
        (("health",), {"CORRAL_SERVER": "nope"}, "CORRAL_SERVER"),
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


@pytest.mark.parametrize(
    ("args", "env", "starts"),
    [
        (
            ("serve",),
            {"CORRAL_HOST": "999.1.1.1"},
            "corral serve: invalid_setting: CORRAL_HOST: '999.1.1.1' is not an address",
        ),
        (
            ("serve",),
            {"CORRAL_HOST": "192.0.2.1"},  # TEST-NET-1: never an address of this machine
            "corral serve: invalid_setting: CORRAL_HOST: cannot listen on '192.0.2.1'",
        ),
        (
            ("serve",),
            {"CORRAL_CALLBACK_HOST": "not a host"},
            "corral serve: invalid_setting: CORRAL_CALLBACK_HOST: 'not a host' is not",
        ),
        (
            ("runner", "--callbacks", "127.0.0.1:1"),
            {"CORRAL_RUNNER_HOST": "999.1.1.1"},
            "corral runner: invalid_setting: CORRAL_RUNNER_HOST: '999.1.1.1' is not an address",
        ),
    ],
)
def test_an_address_that_cannot_be_listened_on_is_one_line_before_anything_starts(
    args: tuple[str, ...], env: dict[str, str], starts: str, tmp_path: pathlib.Path
) -> None:
    data_dir = tmp_path / "data"
    done = _corral(*args, CORRAL_DATA_DIR=str(data_dir), CORRAL_PORT="0", **env)
    assert done.returncode == 1
    assert done.stderr.startswith(starts), done.stderr
    assert "expected an address of this machine" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not data_dir.exists()  # nothing was started: no store, no runner


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: pathlib.Path, where: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    data_dir = blocker if where == "file" else blocker / "data"
    done = _corral("serve", CORRAL_DATA_DIR=str(data_dir), CORRAL_PORT="0")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith(
        f"corral serve: data_dir_unusable: the data directory {data_dir} (CORRAL_DATA_DIR"
    )
    assert "expected a directory this process can create and write" in done.stderr


def test_a_store_that_cannot_be_opened_is_one_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "corral.db").mkdir()  # where the store's file should be
    done = _corral("serve", CORRAL_DATA_DIR=str(tmp_path), CORRAL_PORT="0")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("corral serve: storage_unavailable: ")
    assert f"check that {tmp_path} exists" in done.stderr


@pytest.mark.parametrize("key", ["sk_é", "sk_a\nb", "sk a"])
def test_a_bad_secret_key_is_named_and_never_repeated(key: str) -> None:
    done = _corral("runs", CORRAL_SECRET_KEY=key, CORRAL_SERVER="127.0.0.1:1")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    message = json.loads(done.stderr)["message"]
    assert message.startswith("CORRAL_SECRET_KEY:")
    assert "expected the key exactly as corral env create printed it" in message
    assert key not in done.stderr


@pytest.mark.parametrize(
    ("option", "value"), [("--server", "not an address"), ("--secret-key", "sk_é")]
)
def test_a_bad_client_option_is_a_usage_error_naming_it(option: str, value: str) -> None:
    done = _corral("runs", option, value, CORRAL_SECRET_KEY="k")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"Invalid value for '{option}'" in done.stderr


@pytest.mark.parametrize(
    "good",
    [
        "127.0.0.1:7700",
        "localhost:1",
        "orchestrator.internal:443",
        "[::1]:7700",
        "dns:///orchestrator.internal:7700",
        "unix:/run/corral.sock",
    ],
)
def test_addresses_as_operators_write_them(good: str) -> None:
    assert address(good) == good


@pytest.mark.parametrize(
    "bad", ["127.0.0.1", "host:port", "host:0", "host:70000", "a b:1", "http://h:1", ":7700"]
)
def test_an_address_without_a_host_and_port_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="expected host:port"):
        address(bad)
