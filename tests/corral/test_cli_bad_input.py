"""Every bad input of the ``corral`` command ends in a typed error and a meaningful exit code,
never in a traceback (nor in a wait on a FIFO): files that cannot be read as asked (not UTF-8, a
FIFO, a folder, a dangling link, not JSON, JSON of the wrong shape), JSON options read strictly
and of the shape expected, files to write that cannot be, and, as the last resort, an exception
no command expected. The hostile inputs are real files; nothing here needs a server (the client
commands fail before their first call, or meet nobody at 127.0.0.1:1)."""

from __future__ import annotations

import json
import os
import pathlib
import sys
from typing import Any

import pytest
from click.testing import CliRunner, Result

import corral.cli
from corral.cli import _dryrun_online, _main
from corral.cli._main import cli
from corral.v1 import orchestrator_pb2 as pb

NOBODY = ["--server", "127.0.0.1:1", "--secret-key", "sk_test"]
ACTION = """
from nango import create_action

def run(nango, input):
    return {'ok': True}

action = create_action(description='ok', exec=run)
"""
DEEP = "[" * 200 + "]" * 200


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def client_error(result: Result, code: str, exit_code: int = 2) -> dict[str, Any]:
    """The JSON error a client command printed on standard error."""
    no_traceback(result)
    assert result.exit_code == exit_code, result.output
    error = json.loads(result.stderr)
    assert error["error_type"] == code, error
    return error


def dryrun_error(result: Result, code: str, exit_code: int = 2) -> str:
    """The message of a ``corral dryrun`` usage error (``{"ok": false, "error": ...}``)."""
    no_traceback(result)
    assert result.exit_code == exit_code, result.output
    printed = json.loads(result.stderr.splitlines()[-1])
    assert printed["ok"] is False
    assert printed["error"]["type"] == code, printed
    return str(printed["error"]["message"])


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    """An integration folder with one good action."""
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "hello.py").write_text(ACTION)
    return shop


def not_utf8(path: pathlib.Path) -> pathlib.Path:
    path.write_bytes(b'x = "\xff"\n')
    return path


def fifo(path: pathlib.Path) -> pathlib.Path:
    os.mkfifo(path)
    return path


# ---- files a command reads ----


def test_deploy_refuses_a_function_file_that_is_not_utf8(folder: pathlib.Path) -> None:
    not_utf8(folder / "broken.py")
    error = client_error(invoke("deploy", str(folder), *NOBODY), "invalid_file")
    assert "broken.py is not UTF-8 text" in error["message"]
    assert error["details"]["file"].endswith("broken.py")


def test_deploy_refuses_a_fifo_among_the_function_files(folder: pathlib.Path) -> None:
    fifo(folder / "pipe.py")
    error = client_error(invoke("deploy", str(folder), *NOBODY), "invalid_file")
    assert "not a regular file" in error["message"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not json", "is not valid JSON"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'{"old.py": NaN}', "NaN is not a JSON number"),
        (b'{"old.py": [1]}', "the configuration of 'old.py' must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"", "is empty"),
    ],
)
def test_deploy_legacy_config_must_be_an_object_of_objects(
    folder: pathlib.Path, content: bytes, expected: str
) -> None:
    config = folder.parent / "legacy.json"
    config.write_bytes(content)
    result = invoke("deploy", str(folder), "--legacy-config", str(config), *NOBODY)
    assert expected in client_error(result, "invalid_json")["message"]


def test_dryrun_refuses_a_function_file_or_a_sibling_that_is_not_utf8(
    folder: pathlib.Path,
) -> None:
    message = dryrun_error(invoke("dryrun", str(not_utf8(folder / "bad.py"))), "invalid_file")
    assert "bad.py is not UTF-8 text (invalid start byte at byte 5)" in message
    message = dryrun_error(invoke("dryrun", str(folder / "hello.py")), "invalid_file")
    assert "bad.py is not UTF-8 text" in message  # what a deploy of the folder would send


def test_dryrun_refuses_a_fifo_and_a_dangling_link_as_the_function(
    folder: pathlib.Path,
) -> None:
    message = dryrun_error(invoke("dryrun", str(fifo(folder / "pipe.py"))), "invalid_file")
    assert "is not a regular file" in message
    (folder / "gone.py").symlink_to(folder / "nowhere.py")
    message = dryrun_error(invoke("dryrun", str(folder / "gone.py")), "invalid_file")
    assert "does not exist (a link to a missing path)" in message


@pytest.mark.parametrize(
    ("content", "code", "expected"),
    [
        (b"not json", "invalid_json", "is not valid JSON"),
        (b"[]", "invalid_json", "must be a JSON object, not an array"),
        (b"\xff", "invalid_json", "not UTF-8"),
        (b'{"nango": {"getMetadata": {"n": 1e999}}}', "invalid_json", "out of range"),
        (DEEP.encode(), "invalid_json", "nests deeper than 128 levels"),
        (b"  \n", "invalid_json", "is empty"),
        (None, "invalid_file", "is a folder, not a file"),
        (b"fifo", "invalid_file", "is not a regular file"),
    ],
)
def test_dryrun_fixture_must_be_a_json_object_in_a_regular_file(
    folder: pathlib.Path, content: bytes | None, code: str, expected: str
) -> None:
    fixture = folder / "hello.test.json"
    if content is None:
        fixture.mkdir()
    elif content == b"fifo":
        fifo(fixture)
    else:
        fixture.write_bytes(content)
    result = invoke("dryrun", str(folder / "hello.py"), "--fixture", str(fixture))
    assert expected in dryrun_error(result, code)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--input", "NaN", "--input is not valid JSON: NaN is not a JSON number"),
        ("--input", "1e999", "--input is not valid JSON: the number 1e999 is out of range"),
        ("--input", DEEP, "--input is not valid JSON: it nests deeper than 128 levels"),
        ("--input", '"\\ud800"', "lone UTF-16 surrogate"),
        ("--metadata", "[1]", "--metadata must be a JSON object, not an array"),
        ("--metadata", "7", "--metadata must be a JSON object, not a number"),
        ("--checkpoint", '"x"', "--checkpoint must be a JSON object, not a string"),
    ],
)
def test_dryrun_json_options_are_read_strictly_and_by_shape(
    folder: pathlib.Path, option: str, value: str, expected: str
) -> None:
    result = invoke("dryrun", str(folder / "hello.py"), option, value)
    assert expected in dryrun_error(result, "invalid_json")


@pytest.mark.parametrize("where", ["missing/x.test.json", "."])
def test_dryrun_save_responses_is_refused_before_the_run(folder: pathlib.Path, where: str) -> None:
    target = folder / where
    result = invoke(
        "dryrun", str(folder / "hello.py"), "--connection", "c1", "--save-responses", str(target),
        *NOBODY,
    )  # fmt: skip
    message = dryrun_error(result, "invalid_file")
    assert "--save-responses" in message
    assert "does not exist" in message or "is a folder" in message


def test_dryrun_keeps_the_result_when_the_fixture_cannot_be_written(
    folder: pathlib.Path,
) -> None:
    class Answers:
        def stream(self, rpc: str, request: Any, timeout: float | None = None) -> Any:
            yield pb.DryRunEvent(result=pb.DryRunResult(ok=True, output_json='{"n": 1}'))

    target = folder / "gone" / "hello.test.json"  # its folder is not there when it is written
    client: Any = Answers()
    with pytest.raises(_dryrun_online.FixtureNotSaved) as caught:
        _dryrun_online.online_dryrun(client, folder / "hello.py", "c1", save_responses=target)
    assert caught.value.code == "invalid_file"
    assert caught.value.result["output"] == {"n": 1}
    assert not list(folder.iterdir())[1:]  # no temporary file left behind: hello.py alone


def test_compile_refuses_a_file_that_is_not_utf8_and_a_fifo(folder: pathlib.Path) -> None:
    not_utf8(folder / "bad.py")
    result = invoke("compile", str(folder))
    no_traceback(result)
    assert result.exit_code == 2
    assert "bad.py is not UTF-8 text" in result.stderr  # it said "no violations" before
    result = invoke("compile", str(fifo(folder.parent / "pipe.py")))
    assert result.exit_code == 2
    assert "is not a regular file" in result.stderr


def test_test_refuses_a_fifo_target(tmp_path: pathlib.Path) -> None:
    result = invoke("test", str(fifo(tmp_path / "pipe.py")))
    no_traceback(result)
    assert result.exit_code == 2  # it said "no tests" and passed before
    assert "is not a regular file" in result.stderr


def test_test_reports_unreadable_files_as_failed_tests_with_the_reason(
    folder: pathlib.Path,
) -> None:
    (folder / "hello.test.json").write_bytes(b"\xff not json")
    other = folder.parent / "other"
    other.mkdir()
    (other / "hello.py").write_text(ACTION)
    (other / "hello.test.json").write_text(json.dumps({"input": None, "output": {"ok": True}}))
    not_utf8(other / "zz.py")
    result = invoke("test", str(folder.parent), "--json")
    no_traceback(result)
    assert result.exit_code == 1
    reasons = [t["reason"] for t in json.loads(result.stdout)["tests"]]
    assert "cannot read the fixture: fixture " in reasons[1]
    assert "hello.test.json is not valid JSON: it is not UTF-8" in reasons[1]  # shop/hello
    assert "zz.py is not UTF-8 text" in reasons[0]  # other/hello: not an "internal error"


def test_dotenv_that_is_not_utf8_is_a_typed_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(b"CORRAL_SERVER=\xff\n")
    error = client_error(invoke("runs", "--secret-key", "sk_test"), "invalid_file")
    assert "the settings file .env is not UTF-8 text" in error["message"]


# ---- TLS files, and files written ----


def test_a_fifo_as_tls_ca_is_refused_not_waited_on(tmp_path: pathlib.Path) -> None:
    pipe = str(fifo(tmp_path / "ca.pem"))
    error = client_error(invoke("runs", *NOBODY, "--tls-ca", pipe), "invalid_file")
    assert "CORRAL_TLS_CA (--tls-ca)" in error["message"]
    client_error(invoke("health", "--server", "127.0.0.1:1", "--tls-ca", pipe), "invalid_file")


def test_runner_refuses_an_unwritable_port_file_and_a_fifo_ca(tmp_path: pathlib.Path) -> None:
    start = ["runner", "--callbacks", "127.0.0.1:1"]
    result = invoke(*start, "--port-file", str(tmp_path / "missing" / "port"))
    assert "--port-file" in client_error(result, "invalid_file")["message"]
    pipe = str(fifo(tmp_path / "ca.pem"))
    result = invoke(*start, "--tls-ca", pipe, "--tls-cert", pipe, "--tls-key", pipe)
    assert "CORRAL_RUNNER_TLS_CA" in client_error(result, "invalid_file")["message"]


def test_serve_refuses_a_fifo_as_a_tls_file(tmp_path: pathlib.Path) -> None:
    pipe = str(fifo(tmp_path / "cert.pem"))
    result = invoke(
        "serve", "--data-dir", str(tmp_path / "data"), "--tls-cert", pipe, "--tls-key", pipe
    )
    no_traceback(result)
    assert result.exit_code == 1
    assert result.stderr.startswith("corral serve: invalid_file: CORRAL_TLS_CERT ")


def test_init_under_a_file_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / "afile").write_text("")
    result = invoke("init", str(tmp_path / "afile" / "shop"))
    no_traceback(result)
    assert result.exit_code == 2
    assert "cannot make the folder" in result.stderr


# ---- JSON options of the client commands, and numbers ----


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["connection", "create", "--integration", "x", "--metadata", "[1]"], "not an array"),
        (["connection", "create", "--integration", "x", "--config", "1"], "not a number"),
        (["connection", "create", "--integration", "x", "--credentials", "NaN"], "NaN"),
        (["connection", "create", "--integration", "x", "--metadata", '{"a": 1e999}'], "range"),
        (["integration", "create", "x", "--auth-config", '"key"'], "not a string"),
        (["integration", "create", "x", "--auth-config", DEEP], "deeper than 128"),
        (["trigger", "action", "a", "--connection", "c", "--input", "Infinity"], "Infinity"),
        (["webhook", "x", "--payload", "NaN"], "NaN"),
        (["webhook", "x", "--payload", ""], "--payload is empty"),
    ],
)
def test_client_json_options_are_refused_before_any_call(args: list[str], expected: str) -> None:
    assert expected in client_error(invoke(*args, *NOBODY), "invalid_json")["message"]


def test_integration_create_without_auth_mode_reaches_the_server() -> None:
    # its default ("") was not among the choices: every call without --auth-mode was refused
    client_error(invoke("integration", "create", "x", *NOBODY), "server_unreachable", 1)


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "--limit", "99999999999999"],
        ["runs", "--limit", "-1"],
        ["records", "--connection", "c", "--model", "M", "--limit", "4294967296"],
    ],
)
def test_limits_out_of_range_are_usage_errors(args: list[str]) -> None:
    result = invoke(*args, *NOBODY)
    no_traceback(result)  # a ValueError of the protobuf field before
    assert result.exit_code == 2
    assert "--limit" in result.stderr


# ---- the last resort ----


def _run_main(monkeypatch: pytest.MonkeyPatch, raised: Exception) -> int:
    """``corral runs`` through the console script's entry point, its command raising ``raised``."""

    def broken() -> None:
        raise raised

    monkeypatch.setattr(_main, "main", broken)
    monkeypatch.setattr(sys, "argv", ["corral", "runs"])
    with pytest.raises(SystemExit) as caught:
        corral.cli.main()
    return int(caught.value.code or 0)


def test_an_unexpected_exception_is_a_typed_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_main(monkeypatch, KeyError("surprise"))
    error = json.loads(capsys.readouterr().err)
    assert code == 1
    assert error["error_type"] == "internal_error"
    assert error["message"] == "internal error: KeyError: 'surprise'"
    assert error["details"]["exception"] == "KeyError"
    assert "test_cli_bad_input.py" in error["details"]["where"]


def test_an_unexpected_os_error_names_the_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_main(monkeypatch, PermissionError(13, "Permission denied", "/srv/x.db"))
    error = json.loads(capsys.readouterr().err)
    assert code == 1
    assert error == {
        "error_type": "os_error",
        "message": "cannot use /srv/x.db: Permission denied",
        "details": {"errno": "EACCES"},
    }
