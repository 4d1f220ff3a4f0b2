"""`corral init`, `corral new` and `corral compile`: what a function author starts with."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner

from corral.cli import _output, cli


def corral(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# ---- init and new ----


def test_init_then_new_functions_pass_compile_and_test_as_generated(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("init", "shop")[0] == 0
    assert (tmp_path / "shop" / "README.md").read_text().startswith("# shop\n")
    # an empty integration has nothing to check: a usage error, not a green "0 files" (issue 14)
    assert invoke("compile", "shop")[0] == 2
    for kind, name in (("sync", "contacts"), ("action", "create_contact"), ("on-event", "check")):
        code, out, _ = invoke("new", kind, name, "--integration", "shop")
        assert code == 0, out
        assert (tmp_path / "shop" / f"{name}.py").is_file()
        assert json.loads((tmp_path / "shop" / f"{name}.test.json").read_text())
    assert invoke("compile", "shop")[0] == 0
    result = corral("test", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines[:3]] == [
        "PASS shop/check",
        "PASS shop/contacts",
        "PASS shop/create_contact",
    ]
    assert lines[-1].startswith("3 passed, 0 failed")
    # The recorded hashes are those of the requests: found by hash alone, too.
    for name in ("contacts", "create_contact", "check"):
        path = tmp_path / "shop" / f"{name}.test.json"
        fixture = json.loads(path.read_text())
        for table in fixture["api"].values():
            for entries in table.values():
                for entry in entries if isinstance(entries, list) else [entries]:
                    entry["request"] = {"params": {"unmatched": "1"}}
        path.write_text(json.dumps(fixture))
    result = corral("test", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_sync_saves_deletes_and_names_its_model(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    invoke("new", "sync", "companies", "--integration", ".")
    source = (tmp_path / "companies.py").read_text()
    assert "class Company(BaseModel):" in source
    fixture = json.loads((tmp_path / "companies.test.json").read_text())
    assert fixture["nango"]["batchSave"]["Company"][1] == {
        "id": "2",
        "name": "Alan Turing",
        "updated_at": "2026-01-02T10:00:00Z",
    }
    assert fixture["nango"]["batchDelete"] == {"Company": [{"id": "3"}]}
    assert len(fixture["api"]["get"]["/v1/companies"]) == 2


def test_new_refuses_to_overwrite_and_checks_names(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("new", "action", "make", "--integration", ".")[0] == 0
    (tmp_path / "other.test.json").write_text("{}")
    before = (tmp_path / "make.py").read_text() + "edited"
    (tmp_path / "make.py").write_text(before)
    code, _, err = invoke("new", "sync", "make", "--integration", ".")
    assert code == 2
    assert "already exist" in err
    assert (tmp_path / "make.py").read_text() == before
    assert invoke("new", "sync", "other", "--integration", ".")[0] == 2  # its fixture exists
    assert not (tmp_path / "other.py").exists()
    for bad in ("class", "my-sync", "1st", "nango", "ünïcode"):
        code, _, err = invoke("new", "sync", bad, "--integration", ".")
        assert code == 2, bad
        assert "invalid function name" in err
    assert invoke("new", "sync", "ok", "--integration", "missing")[0] == 2
    assert invoke("new", "webhook", "x")[0] == 2


def test_new_without_an_integration_asks_on_a_terminal_and_refuses_elsewhere(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("new", "sync", "contacts")
    assert code == 2
    assert "--integration FOLDER is needed" in err
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder
    (tmp_path / "shop").mkdir()
    monkeypatch.setattr(_output, "can_ask", lambda: True)
    result = CliRunner().invoke(cli, ["new", "sync", "contacts"], input="shop\n")
    assert result.exit_code == 0, result.output
    assert "Integration folder" in result.output
    assert (tmp_path / "shop" / "contacts.py").is_file()


def test_init_refuses_an_existing_readme_and_bad_names(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("init", "auth0-cc")[0] == 0
    code, _, err = invoke("init", "auth0-cc")
    assert code == 2
    assert "already exists" in err
    assert invoke("init", "bad name!")[0] == 2
    (tmp_path / "file").write_text("")
    assert invoke("init", "file")[0] == 2


# ---- compile ----

IMPORTS_OS = """\
import os
from nango import create_action


def run(nango, input):
    return eval("1")


action = create_action(description="x", exec=run)
"""

PRIVATE = """\
def helper(value):
    return value._secret


def walk():
    return ().__class__
"""


def write_integration(root: pathlib.Path) -> pathlib.Path:
    folder = root / "evil"
    folder.mkdir()
    (folder / "a_action.py").write_text(IMPORTS_OS)
    (folder / "b_helper.py").write_text(PRIVATE)
    (folder / "c_broken.py").write_text("def broken(:\n    pass\n")
    (folder / "d_fine.py").write_text("VALUE = 1\n")
    return folder


def test_compile_reports_every_violation_of_every_file(tmp_path: pathlib.Path) -> None:
    folder = write_integration(tmp_path)
    code, out, err = invoke("compile", str(folder))
    assert code == 1
    lines = out.splitlines()
    places = [line.split(": ")[0] for line in lines]
    assert places == [
        f"{folder}/a_action.py:1:1",
        f"{folder}/a_action.py:6:12",
        f"{folder}/b_helper.py:2:12",
        f"{folder}/b_helper.py:6:12",
        f"{folder}/c_broken.py:1:12",
    ]
    assert "import" in lines[0]
    assert "'os'" in lines[0]
    assert "forbidden_call: Eval" in lines[1]
    assert "_secret" in lines[2]
    assert ": syntax: " in lines[4]
    assert "5 violation(s) in 3 of 4 file(s)" in err


def test_compile_json_a_single_file_and_exit_codes(tmp_path: pathlib.Path) -> None:
    folder = write_integration(tmp_path)
    code, out, _ = invoke("compile", str(folder), "--json")
    assert code == 1
    found = json.loads(out)
    assert len(found) == 5
    assert set(found[0]) == {"file", "line", "column", "rule", "message"}
    code, out, _ = invoke("compile", str(folder / "b_helper.py"))
    assert code == 1
    assert len(out.splitlines()) == 2
    assert invoke("compile", str(folder / "d_fine.py"))[0] == 0
    assert invoke("compile", str(tmp_path / "missing"))[0] == 2
    (tmp_path / "notes.txt").write_text("")
    assert invoke("compile", str(tmp_path / "notes.txt"))[0] == 2


def test_compile_walks_a_folder_of_integrations(tmp_path: pathlib.Path) -> None:
    write_integration(tmp_path)
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "ok.py").write_text("VALUE = 1\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "skipped.py").write_text("import os\n")
    code, out, err = invoke("compile", str(tmp_path))
    assert code == 1
    assert ".venv" not in out
    assert "in 3 of 5 file(s)" in err


def test_compile_checks_imports_against_the_policy(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "models.py").write_text("VALUE = 1\n")
    (folder / "uses.py").write_text(
        "from nango import create_sync, secret_thing\n"
        "from pydantic import BaseModel\n"
        "from .models import VALUE\n"
        "from .missing import X\n"
        "from ..outside import Y\n"
        "import urllib.parse\n"
        "from urllib import request\n"
        "def later():\n"
        "    import subprocess\n"
    )
    code, out, _ = invoke("compile", str(folder))
    assert code == 1
    lines = [line.split(f"{folder}/", 1)[1] for line in out.splitlines()]
    assert lines[0].startswith("uses.py:1:1: import: 'secret_thing' cannot be imported from")
    assert lines[1].startswith("uses.py:4:1: import: there is no sibling file 'missing.py'")
    assert lines[2].startswith("uses.py:5:1: import: only sibling files")
    assert lines[3].startswith("uses.py:7:1: import: 'request' cannot be imported from 'urllib'")
    assert lines[4].startswith("uses.py:9:5: import: import of 'subprocess' is not allowed")
    assert len(lines) == 5
    code, out, _ = invoke("compile", str(folder / "uses.py"))
    assert code == 1
    assert "missing.py" in out
    assert "uses.py:3:" not in out  # a single file is checked with its siblings


@pytest.mark.parametrize("command", ["compile", "test", "dryrun"])
def test_a_missing_file_says_it_does_not_exist(command: str, tmp_path: pathlib.Path) -> None:
    result = corral(command, "nope.py", cwd=tmp_path)
    assert result.returncode in {1, 2}
    assert "nope.py does not exist" in result.stdout + result.stderr


def test_compile_of_an_empty_target_is_an_error_not_a_green_nothing(tmp_path: pathlib.Path) -> None:
    (tmp_path / "empty").mkdir()
    result = corral("compile", "empty", cwd=tmp_path)
    assert result.returncode == 2
    assert "no function file under empty" in result.stderr
    (tmp_path / "notes.txt").write_text("x")
    wrong = corral("compile", "notes.txt", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "notes.txt is not a .py file" in wrong.stderr


def test_compile_reports_definitions_that_deploy_would_refuse(tmp_path: pathlib.Path) -> None:
    """A bad frequency, a misspelt field, a missing event: said by compile, with file and line,
    before any deploy; a frequency that is not a literal is left to the run."""
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "orders.py").write_text(
        "from nango import create_sync\n"
        "def fetch(nango):\n"
        "    pass\n"
        "sync = create_sync(description='x', frequency='sometimes', exec=fetch)\n"
    )
    (shop / "refund.py").write_text(
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    return 1\n"
        "action = create_action(descripton='typo', exec=run)\n"
    )
    (shop / "check.py").write_text(
        "from nango import create_on_event\n"
        "def run(nango):\n"
        "    pass\n"
        "check = create_on_event(exec=run)\n"
    )
    (shop / "fine.py").write_text(
        "from nango import create_sync\n"
        "EVERY = 'every hour'\n"
        "def fetch(nango):\n"
        "    pass\n"
        "sync = create_sync(description='x', frequency=EVERY, exec=fetch)\n"
    )
    result = corral("compile", "shop", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = {(v["file"].rsplit("/", 1)[-1], v["line"]): v for v in json.loads(result.stdout)}
    assert set(found) == {("orders.py", 4), ("refund.py", 4), ("check.py", 4)}
    assert all(v["rule"] == "invalid_definition" for v in found.values())
    assert "sometimes" in found[("orders.py", 4)]["message"]
    assert "descripton" in found[("refund.py", 4)]["message"]
    assert "'event' is required" in found[("check.py", 4)]["message"]


TYPED = (
    "from nango import Nango, create_action\n"
    "\n"
    "def run(nango: Nango, input: object) -> object:\n"
    "    return nango.get(endpoint=42).data\n"
    "\n"
    "action = create_action(description='x', exec=run)\n"
)


def test_compile_types_checks_against_the_nango_stubs(tmp_path: pathlib.Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "bad.py").write_text(TYPED)
    assert invoke_in(tmp_path, "new", "sync", "contacts", "--integration", "shop") == 0
    assert invoke_in(tmp_path, "new", "action", "make", "--integration", "shop") == 0
    result = corral("compile", "shop", "--types", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    assert [(v["file"], v["line"], v["rule"]) for v in found] == [("shop/bad.py", 4, "type")]
    assert 'incompatible type "int"; expected "str"' in found[0]["message"]


def test_mypy_finds_the_nango_stubs_after_make_setup(tmp_path: pathlib.Path) -> None:
    """What an author's own mypy (or editor) sees: the stubs, not 'module not found'."""
    (tmp_path / "bad.py").write_text(TYPED)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "bad.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "import-not-found" not in result.stdout, result.stdout
    assert 'incompatible type "int"; expected "str"' in result.stdout


def invoke_in(folder: pathlib.Path, *args: str) -> int:
    return corral(*args, cwd=folder).returncode
