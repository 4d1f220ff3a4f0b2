"""`corral dryrun`: one function file offline, through the production runner and sandbox."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

SYNC = """
from nango import create_sync
from pydantic import BaseModel

class Item(BaseModel):
    id: str
    name: str
    note: str | None = None

def fetch(nango):
    meta = nango.get_metadata()
    response = nango.get(endpoint='/items', params={'team': meta['team']})
    nango.log('page', len(response.data['items']))
    items = [Item(id=str(i['id']), name=i['name']) for i in response.data['items']]
    nango.batch_save(items, 'Item')
    nango.batch_delete([{'id': str(i)} for i in response.data['gone']], 'Item')

sync = create_sync(description='items', frequency='every hour', models={'Item': Item}, exec=fetch)
"""

FIXTURE = {
    "nango": {"getMetadata": {"team": "t1"}},
    "api": {
        "get": {
            "/items": {
                "response": {"items": [{"id": 1, "name": "a"}], "gone": [7]},
                "status": 200,
                "headers": {},
                "hash": "x",
                "request": {"params": {"team": "t1"}},
            }
        }
    },
}

ACTION = """
from nango import create_action, ActionError
from pydantic import BaseModel

class In(BaseModel):
    n: int

def run(nango, input):
    if input.n < 0:
        raise ActionError({'why': 'negative'})
    return {'double': input.n * 2}

action = create_action(description='double', input=In, exec=run)
"""


def dryrun(*args: str) -> tuple[int, dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "corral", "dryrun", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = result.stdout if result.stdout.strip() else result.stderr
    return result.returncode, json.loads(text)


def write(folder: pathlib.Path, name: str, source: str) -> pathlib.Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(source)
    return path


def test_action_with_input(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "calc", "double.py", ACTION)
    code, result = dryrun(str(path), "--input", '{"n": 21}')
    assert code == 0
    assert result["ok"] is True
    assert result["output"] == {"double": 42}


def test_action_error_exits_one_with_the_payload(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "calc", "double.py", ACTION)
    code, result = dryrun(str(path), "--input", '{"n": -1}')
    assert code == 1
    assert result["error"] == {
        "type": "action_script_failure",
        "message": "the action raised ActionError",
        "payload": {"why": "negative"},
        "file": "double.py",
        "line": 10,
    }


def test_an_action_error_of_words_is_wrapped_offline_too(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "calc", "words.py", ACTION.replace("{'why': 'negative'}", "'negative'"))
    code, result = dryrun(str(path), "--input", '{"n": -1}')
    assert code == 1
    assert result["error"]["payload"] == {"message": "negative"}  # type: ignore[index]


def test_invalid_input_is_a_typed_failure(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "calc", "double.py", ACTION)
    code, result = dryrun(str(path), "--input", '{"n": "x"}')
    assert code == 1
    assert result["error"]["type"] == "invalid_action_input"  # type: ignore[index]


def test_sync_against_a_fixture_lists_records_deletes_and_logs(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "shop", "items.py", SYNC)
    fixture = tmp_path / "items.test.json"
    fixture.write_text(json.dumps(FIXTURE))
    code, result = dryrun(str(path), "--fixture", str(fixture))
    assert code == 0, result
    assert result["records"] == {"Item": [{"id": "1", "name": "a"}]}
    assert result["deleted"] == {"Item": [{"id": "7"}]}
    assert result["logs"] == [{"level": "info", "message": "page", "meta": [1]}]


def test_a_request_without_recording_fails_with_what_it_looked_for(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "shop", "items.py", SYNC)
    fixture = tmp_path / "items.test.json"
    fixture.write_text(json.dumps(FIXTURE | {"nango": {"getMetadata": {"team": "other"}}}))
    code, result = dryrun(str(path), "--fixture", str(fixture))
    assert code == 1
    error = result["error"]
    assert error["type"] == "script_network_error"  # type: ignore[index]
    assert "GET items" in error["message"]
    assert "'team': 'other'" in error["message"]


def test_usage_errors_exit_two(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "calc", "double.py", ACTION)
    assert dryrun(str(path), "--input", "{bad")[0] == 2
    assert dryrun(str(tmp_path / "missing.py"))[0] == 2


def test_a_file_breaking_the_rules_fails_cleanly(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "evil", "evil.py", "import subprocess\n")
    code, result = dryrun(str(path))
    assert code == 1
    assert result["error"]["type"] == "sandbox_violation"  # type: ignore[index]
    assert "subprocess" in result["error"]["message"]  # type: ignore[index]
    dunder = write(
        tmp_path / "evil",
        "walk.py",
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    return ().__class__.__bases__[0].__subclasses__()\n"
        "action = create_action(description='x', exec=run)\n",
    )
    code, result = dryrun(str(dunder))
    assert code == 1
    assert result["error"]["type"] in {"compile_error", "sandbox_violation"}  # type: ignore[index]


SURROGATES = """
from nango import create_action, ActionError

def run(nango, input):
    bad = chr(0xD800)
    if input['where'] == 'log':
        nango.log('line ' + bad)
    if input['where'] == 'payload':
        raise ActionError({'why': bad})
    if input['where'] == 'message':
        raise ValueError('broken ' + bad)
    return {'text': bad}

action = create_action(description='surrogates', exec=run)
"""


def test_lone_surrogates_are_typed_failures_not_crashes(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "odd", "odd.py", SURROGATES)
    for where in ("log", "payload", "message", "output"):
        for flag in ("--json", None):
            args = [sys.executable, "-m", "corral", "dryrun", str(path)]
            args += ["--input", json.dumps({"where": where}), *([flag] if flag else [])]
            result = subprocess.run(args, capture_output=True, timeout=120, check=False)
            assert result.returncode == 1, (where, result.stderr)
            assert b"Traceback" not in result.stderr, result.stderr
            assert b"UnicodeEncodeError" not in result.stdout + result.stderr
