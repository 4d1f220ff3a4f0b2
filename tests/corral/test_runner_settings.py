"""``corral runner``'s settings, read without pydantic (``corral._runner_settings``), read and
refuse values as pydantic-settings did: the same conversions, the same messages, the keyword
arguments over the environment, whose names match in any case."""

from __future__ import annotations

import math
import pathlib
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from corral._plain_settings import SettingsInvalid
from corral._runner_settings import RunnerSettings
from corral._settings import SETTINGS_PREFIXES, address, listen_address


def _pydantic(annotation: Any, value: str) -> tuple[str, Any]:
    """What pydantic makes of ``value`` for ``annotation``: ("ok", value) or ("error", msg)."""
    try:
        return "ok", TypeAdapter(annotation).validate_python(value)
    except ValidationError as err:
        return "error", err.errors()[0]["msg"]


def _ours(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> tuple[str, Any]:
    """What RunnerSettings makes of ``value`` given as CORRAL_RUNNER_<NAME>."""
    monkeypatch.setenv("CORRAL_RUNNER_" + name.upper(), value)
    try:
        return "ok", getattr(RunnerSettings(), name)
    except SettingsInvalid as err:
        [problem] = err.errors()
        assert problem["loc"] == (name,)
        assert problem["input"] == value
        return "error", problem["msg"]


def _address_check(value: str) -> str:
    return value and address(value)


def _listen_check(value: str) -> str:
    return value and listen_address(value)


INTEGERS = ["5", " 5 ", "5.0", "5.5", "1_000", "+5", "-1", "70000", "", "x", "0x10", "٣", "1e3"]
NUMBERS = ["1", "1.5", " 2 ", "inf", "-inf", "nan", "-1", "1e9", "x", "", "1_0"]
FLAGS = ["1", "0", "true", "True", "TRUE", " yes", "on", "off", "t", "f", "y", "n", "maybe", ""]
ADDRESSES = ["127.0.0.1:7701", "[::1]:80", "dns:orchestrator:7701", "nope", "a:0", "a:99999", ""]
CASES: list[tuple[str, Any, list[str]]] = [
    ("port", Annotated[int, Field(ge=0, le=65535)], INTEGERS),
    ("prewarm_workers", Annotated[int, Field(ge=0, le=64)], INTEGERS),
    ("max_concurrent_runs", Annotated[int, Field(ge=1)], INTEGERS),
    ("drain_seconds", Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)], NUMBERS),
    ("strict_containment", bool, FLAGS),
    ("join_secret_file", pathlib.Path | None, ["", "a/b", "/run/secret"]),
    ("host", str, ["10.0.0.1", "", " x "]),
]


@pytest.mark.parametrize(
    ("name", "annotation", "value"),
    [(name, annotation, value) for name, annotation, values in CASES for value in values],
)
def test_a_setting_is_read_and_refused_as_pydantic_does(
    name: str, annotation: Any, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, ours = _pydantic(annotation, value), _ours(monkeypatch, name, value)
    if expected[0] == "ok" and isinstance(expected[1], float) and math.isnan(expected[1]):
        assert ours[0] == "ok"
        assert math.isnan(ours[1])
    else:
        assert ours == expected


@pytest.mark.parametrize(
    ("name", "check", "values"),
    [
        ("callbacks", _address_check, ADDRESSES),
        ("advertise", _address_check, ADDRESSES),
        ("metrics_address", _listen_check, [*ADDRESSES, "127.0.0.1:0"]),
    ],
)
def test_an_address_is_checked_as_the_orchestrator_checks_it(
    name: str, check: Any, values: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in values:
        try:
            expected: tuple[str, Any] = ("ok", check(value))
        except ValueError as exc:
            expected = ("error", f"Value error, {exc}")
        assert _ours(monkeypatch, name, value) == expected, value


def test_defaults_then_the_environment_in_any_case_then_the_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in RunnerSettings.variables().values():
        monkeypatch.delenv(name, raising=False)
    assert RunnerSettings().values() == {
        "host": "127.0.0.1",
        "port": 0,
        "callbacks": "",
        "prewarm_workers": 2,
        "strict_containment": False,
        "max_concurrent_runs": 64,
        "orchestrator": "",
        "join_secret_file": None,
        "advertise": "",
        "drain_seconds": 60.0,
        "metrics_address": "",
        "tls_ca": "",
        "tls_cert": "",
        "tls_key": "",
    }
    monkeypatch.setenv("corral_runner_port", "7710")
    monkeypatch.setenv("CORRAL_RUNNER_HOST", "10.0.0.2")
    assert (RunnerSettings().port, RunnerSettings().host) == (7710, "10.0.0.2")
    assert RunnerSettings(port=7711, unknown="ignored").port == 7711


def test_every_problem_is_named_by_its_variable_and_a_check_across_settings_names_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CORRAL_RUNNER_JOIN_SECRET_FILE", raising=False)
    monkeypatch.setenv("CORRAL_RUNNER_PORT", "x")
    with pytest.raises(SettingsInvalid) as raised:
        RunnerSettings(max_concurrent_runs=0)
    assert raised.value.title in SETTINGS_PREFIXES
    assert raised.value.invalid_request().message == (
        "CORRAL_RUNNER_PORT: Input should be a valid integer, unable to parse string as an"
        " integer (got 'x'); CORRAL_RUNNER_MAX_CONCURRENT_RUNS: Input should be greater than or"
        " equal to 1 (got 0)"
    )
    monkeypatch.delenv("CORRAL_RUNNER_PORT")
    with pytest.raises(SettingsInvalid) as raised:
        RunnerSettings(orchestrator="127.0.0.1:7701")
    refused = raised.value.invalid_request()
    assert refused.code == "invalid_setting"
    assert refused.message == (
        "CORRAL_RUNNER_JOIN_SECRET_FILE: joining an orchestrator needs the file of its join secret"
    )
