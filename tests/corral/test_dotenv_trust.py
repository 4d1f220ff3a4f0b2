"""A planted ``.env`` cannot route the user's key elsewhere, however it spells its names, and
the settings a command uses are the ones checked (``corral/cli/_dotenv_trust.py``)."""

from __future__ import annotations

import os
import pathlib

import click
import pytest

from corral.cli import _dotenv_trust
from corral.cli._dotenv_trust import client_settings

KEY = "k" * 40
FILE_KEY = "f" * 40


@pytest.fixture
def folder(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    for name in [n for n in os.environ if n.upper().startswith("CORRAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _settings(**given: bool) -> object:
    options = {"key_given": False, "server_given": False, "ca_given": False} | given
    return client_settings(**options)


@pytest.mark.parametrize(
    "line",
    [
        "CORRAL_SERVER=10.9.9.9:443",
        "corral_server=10.9.9.9:443",
        "Corral_Server=10.9.9.9:443",
        "export corral_server=10.9.9.9:443",
        "corral_tls_ca=/tmp/planted-ca.pem",
    ],
)
def test_a_planted_server_or_ca_in_any_spelling_is_refused_for_a_key_from_elsewhere(
    folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    (folder / ".env").write_text(line + "\n")
    monkeypatch.setenv("CORRAL_SECRET_KEY", KEY)
    with pytest.raises(click.UsageError, match="a key is never sent where a file alone says"):
        _settings()


def test_a_key_in_the_same_file_goes_with_its_server(folder: pathlib.Path) -> None:
    (folder / ".env").write_text(f"corral_server=10.9.9.9:443\ncorral_secret_key={FILE_KEY}\n")
    settings = _settings()
    assert settings.server == "10.9.9.9:443"  # type: ignore[attr-defined]
    assert settings.secret_key.get_secret_value() == FILE_KEY  # type: ignore[attr-defined]


def test_the_environment_in_any_case_wins_over_the_file(
    folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / ".env").write_text("CORRAL_SERVER=10.9.9.9:443\n")
    monkeypatch.setenv("corral_server", "127.0.0.1:7701")
    monkeypatch.setenv("CORRAL_SECRET_KEY", KEY)
    assert _settings().server == "127.0.0.1:7701"  # type: ignore[attr-defined]


def test_what_is_checked_is_what_is_used(
    folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file read once: one changed after the check (here: read as harmless, then holding
    a server) is not read again by the settings."""
    (folder / ".env").write_text("CORRAL_SERVER=10.9.9.9:443\n")  # what a second read would see
    monkeypatch.setattr(_dotenv_trust, "dotenv_values", lambda **_: {"CORRAL_LOG": "x"})
    monkeypatch.setenv("CORRAL_SECRET_KEY", KEY)
    assert _settings().server == "127.0.0.1:7700"  # type: ignore[attr-defined]


def test_options_given_keep_the_files_server_out(
    folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / ".env").write_text("corral_server=10.9.9.9:443\n")
    monkeypatch.setenv("CORRAL_SECRET_KEY", KEY)
    settings = _settings(server_given=True)  # the command dials its --server: nothing refused
    assert settings.secret_key.get_secret_value() == KEY  # type: ignore[attr-defined]


def test_a_command_that_sends_no_key_reads_the_file_the_same_way(
    folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``corral health`` sends no key: the file may name its server, read as the others read
    it (once, in any case), and the environment still wins."""
    (folder / ".env").write_text("Corral_Server=10.9.9.9:443\ncorral_tls_ca=ca.pem\n")
    monkeypatch.setenv("CORRAL_SECRET_KEY", KEY)
    settings = _dotenv_trust.keyless_settings()
    assert (settings.server, settings.tls_ca) == ("10.9.9.9:443", "ca.pem")
    monkeypatch.setenv("corral_server", "127.0.0.1:1")
    assert _dotenv_trust.keyless_settings().server == "127.0.0.1:1"
