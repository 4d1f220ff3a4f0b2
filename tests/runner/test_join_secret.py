"""The join secret of a runner: read from its file only (typed errors naming the setting,
never the secret), and refused from the environment, which every fork would copy."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from corral.errors import InvalidRequest
from runner._main import read_join_secret

SECRET = "a-join-secret-of-32-characters!!"


def test_the_secret_is_read_from_its_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "secret"
    path.write_text(f"  {SECRET}\n")
    assert read_join_secret(path) == SECRET


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot be read"),
        ("", "is empty"),
        ("short", "at least 16"),
        ("has a space in the middle of it", "at least 16"),
        (b"\xff\xfe-not-ascii-at-all-here", "not ASCII"),
    ],
)
def test_a_bad_secret_file_is_one_typed_error_naming_the_setting(
    tmp_path: pathlib.Path, content: str | bytes | None, reason: str
) -> None:
    path = tmp_path / "secret"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InvalidRequest) as caught:
        read_join_secret(path)
    assert caught.value.code == "invalid_setting"
    assert caught.value.message.startswith("CORRAL_RUNNER_JOIN_SECRET_FILE: ")
    assert reason in caught.value.message
    if isinstance(content, str) and content:
        assert content not in caught.value.message


def _join(**settings: str) -> subprocess.CompletedProcess[str]:
    """``corral runner --orchestrator`` with only these CORRAL_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    return subprocess.run(
        [sys.executable, "-m", "corral", "runner", "--orchestrator", "127.0.0.1:9"],
        env=env | settings,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_secret_in_the_environment_is_refused() -> None:
    result = _join(CORRAL_RUNNER_JOIN_SECRET=SECRET)
    assert result.returncode != 0
    assert "CORRAL_RUNNER_JOIN_SECRET_FILE" in result.stderr
    assert SECRET not in result.stderr


def test_joining_without_a_secret_file_names_the_setting() -> None:
    result = _join()
    assert result.returncode == 1
    assert "CORRAL_RUNNER_JOIN_SECRET_FILE" in result.stderr
