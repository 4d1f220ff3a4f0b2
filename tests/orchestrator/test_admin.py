"""The admin path: the only way operator commands change the store without a server."""

from __future__ import annotations

import ast
import pathlib

import pytest

from corral.errors import AlreadyExists, InvalidRequest, NotFound
from corral.limits import CEILING
from orchestrator import open_admin

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_create_then_show_settings_with_the_budgets_in_force(tmp_path: pathlib.Path) -> None:
    with open_admin(tmp_path / "data", create=True) as admin:
        created = admin.create_environment("dev")
        shown = admin.environment_settings("dev")
    assert created.name == "dev"
    assert created.secret_key
    assert shown.budgets["records_per_run"] == 1_000_000
    assert (tmp_path / "data" / "corral.db").is_file()


def test_a_patch_is_merged_validated_and_stored(tmp_path: pathlib.Path) -> None:
    with open_admin(tmp_path, create=True) as admin:
        admin.create_environment("dev")
        admin.environment_settings("dev", {"budgets": {"records_per_run": 50}})
        changed = admin.environment_settings("dev", {"log_level": "warn"})
    with open_admin(tmp_path) as admin:
        again = admin.environment_settings("dev")
    assert changed.settings == again.settings
    assert again.settings["log_level"] == "warn"
    assert again.budgets["records_per_run"] == 50


def test_a_refused_patch_changes_nothing(tmp_path: pathlib.Path) -> None:
    too_much = {"limits": {"action": {"memory_bytes": CEILING.memory_bytes + 1}}}
    with open_admin(tmp_path, create=True) as admin:
        admin.create_environment("dev")
        before = admin.environment_settings("dev", {"log_level": "error"}).settings
        with pytest.raises(InvalidRequest):
            admin.environment_settings("dev", too_much)
        with pytest.raises(InvalidRequest):
            admin.environment_settings("dev", {"no_such_setting": 1})
        assert admin.environment_settings("dev").settings == before


def test_typed_errors_for_a_missing_or_doubled_environment(tmp_path: pathlib.Path) -> None:
    with open_admin(tmp_path, create=True) as admin:
        admin.create_environment("dev")
        with pytest.raises(AlreadyExists):
            admin.create_environment("dev")
        with pytest.raises(NotFound):
            admin.environment_settings("prod")


def test_the_command_line_opens_no_store_itself() -> None:
    """Operator commands reach the store only through ``orchestrator.open_admin``."""
    opened = []
    for path in sorted((ROOT / "corral").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Name) and node.id in {"SqliteStorage", "Storage"}:
                opened.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert opened == []


def test_a_data_dir_that_is_a_file_is_a_typed_error(tmp_path: pathlib.Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    with pytest.raises(InvalidRequest) as caught, open_admin(taken, create=True):
        pass
    assert caught.value.code == "data_dir_unusable"
    assert taken.read_text() == "not a folder"
