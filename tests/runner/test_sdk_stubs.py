"""The typed stubs of the ``nango`` module (``nango-stubs``, PEP 561): mypy checks function code
with them, they name exactly what the sandbox's ``nango`` module holds, and typed code runs."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import pytest

from runner._context import RunContext
from runner.host._host import RunnerHost
from runner.worker._find_definition import SDK_MODULE
from tests.runner.sdk_support import Scripted, http_reply, run

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUB = ROOT / "nango-stubs" / "__init__.pyi"

TYPED_MODELS = """
from pydantic import BaseModel


class Issue(BaseModel):
    id: str
    title: str


class Cursor(BaseModel):
    after: str
"""

TYPED_SYNC = """
from nango import Nango, create_sync

from .typed_models import Cursor, Issue


def fetch(nango: Nango) -> None:
    checkpoint = nango.get_checkpoint()
    nango.log("start", {"after": checkpoint}, level="debug")
    pages = nango.paginate(
        endpoint="/issues",
        params={"state": "all"},
        paginate={
            "type": "link",
            "link_rel_in_response_header": "next",
            "limit_name_in_request": "per_page",
            "limit": 100,
        },
    )
    for page in pages:
        nango.batch_save([Issue(id=str(i["id"]), title=i["title"]) for i in page], "Issue")
    nango.save_checkpoint(Cursor(after="x"))


sync = create_sync(
    description="issues",
    frequency="every hour",
    models={"Issue": Issue},
    checkpoint=Cursor,
    exec=fetch,
)
"""

TYPED_ACTION = """
from nango import ActionError, HttpError, Nango, NangoError, create_action

from .typed_models import Issue


def create(nango: Nango, input: Issue) -> dict[str, str]:
    try:
        response = nango.post({"endpoint": "/issues", "data": input.model_dump()}, retries=3)
    except HttpError as error:
        raise ActionError({"status": error.response.status}) from None
    except NangoError as error:
        raise ActionError({"type": error.type}) from None
    return {"url": str(response.data["url"]), "variant": nango.variant}


action = create_action(description="create", input=Issue, exec=create)
"""

TYPED = {
    "typed_models.py": TYPED_MODELS,
    "typed_sync.py": TYPED_SYNC,
    "typed_action.py": TYPED_ACTION,
}

WRONG = """
from nango import Nango, create_sync


def fetch(nango: Nango) -> None:
    nango.get(endpont="/x")
    nango.batch_save([1], "Item")
    nango.log("x", level="loud")


sync = create_sync(description="no frequency", exec=fetch)
"""


def _mypy(cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = cwd / "mypy.ini"
    config.write_text("[mypy]\ncache_dir = .mypy_cache\n")
    # The stubs are found as an installed package would be: on the interpreter's path.
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.timeout(240)
def test_mypy_checks_function_code_with_the_stubs(tmp_path: pathlib.Path) -> None:
    package = tmp_path / "typed"
    package.mkdir()
    for name, source in TYPED.items():
        (package / name).write_text(source)
    (tmp_path / "wrong_fn.py").write_text(WRONG)
    typed = _mypy(tmp_path, "--strict", "--explicit-package-bases", "typed")
    assert typed.returncode == 0, typed.stdout + typed.stderr
    wrong = _mypy(tmp_path, "--strict", "wrong_fn.py")
    assert wrong.returncode == 1
    for expected in (
        'Unexpected keyword argument "endpont"',
        "List item 0 has incompatible type",
        '"level" to "log"',
        'Missing named argument "frequency" for "create_sync"',
    ):
        assert expected in wrong.stdout, wrong.stdout


@pytest.mark.timeout(240)
def test_the_examples_pass_mypy_with_the_stubs(tmp_path: pathlib.Path) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    for folder in (ROOT / "examples").iterdir():
        if folder.is_dir() and any(folder.glob("*.py")):
            (examples / folder.name).mkdir()
            for source in folder.glob("*.py"):
                (examples / folder.name / source.name).write_text(source.read_text())
    names = [p.name for p in examples.iterdir()]
    checked = _mypy(examples, "--explicit-package-bases", "--check-untyped-defs", *names)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_stubs_name_what_the_sandbox_module_holds() -> None:
    tree = ast.parse(STUB.read_text())
    public = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not _type_check_only(node)
    }
    runtime = {name for name in SDK_MODULE if not name.startswith("_")}
    assert runtime <= public, runtime - public
    helpers = {"PaginationState", "Paginate", "RequestOptions", "RequestConfig"}
    assert public - runtime <= helpers | {"EnvironmentVariable"}


def _type_check_only(node: ast.stmt) -> bool:
    return isinstance(node, ast.ClassDef) and any(
        isinstance(d, ast.Name) and d.id == "type_check_only" for d in node.decorator_list
    )


def test_typed_function_code_runs_in_the_sandbox(sdk_host: RunnerHost) -> None:
    handler = Scripted({"proxy": http_reply(201, {"url": "https://x/1"})})
    outcome = run(
        sdk_host,
        TYPED,
        handler,
        entry="typed_action.py",
        input_value={"id": "1", "title": "t"},
        context=RunContext(variant="base"),
    )
    assert outcome.ok, outcome.error
    assert outcome.output == {"url": "https://x/1", "variant": "base"}
    handler = Scripted({"proxy": http_reply(200, [{"id": 1, "title": "t"}])})
    outcome = run(sdk_host, TYPED, handler, kind="sync", entry="typed_sync.py")
    assert outcome.ok, outcome.error
    assert handler.args_of("save_checkpoint") == [{"checkpoint": {"after": "x"}}]
