"""What the commands print: plain JSON (corral.cli._plain) for scripts, tables on a terminal."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from corral.cli import _output
from corral.cli._output import emit
from corral.cli._plain import enum_word, plain
from corral.cli._table import Table, field
from corral.cli._tables import RUNS
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb


def test_enums_are_words_and_the_unspecified_one_is_null() -> None:
    kinds = common_pb2.FunctionKind.DESCRIPTOR
    assert enum_word(kinds, common_pb2.FUNCTION_KIND_ON_EVENT) == "on_event"
    assert enum_word(kinds, common_pb2.FUNCTION_KIND_UNSPECIFIED) is None
    assert enum_word(pb.RunState.DESCRIPTOR, pb.RUN_STATE_FAILED) == "failed"
    assert enum_word(kinds, 99) == "99"  # a newer server's value is not lost


def test_json_fields_are_values_every_field_is_present_and_int64_is_a_number() -> None:
    run = pb.Run(
        run_id="r1",
        kind=common_pb2.FUNCTION_KIND_SYNC,
        output_json='{"added": [1, 2]}',
        input_json="not json",
        logs_dropped=2**40,
    )
    out = plain(run)
    assert out["output"] == {"added": [1, 2]}
    assert out["input"] == "not json"  # kept as text, not lost
    assert out["logs_dropped"] == 2**40
    assert out["error"] is None  # an unset message is null
    assert out["variant"] == ""
    assert not any(key.endswith("_json") for key in out)
    assert json.loads(json.dumps(out)) == out


def test_repeated_and_map_fields_are_present_when_empty_and_json_maps_are_values() -> None:
    runner = plain(pb.RunnerInfo(address="10.0.0.2:7710"))
    assert runner["layers_applied"] == []
    assert runner["layers_missing"] == {}
    deploy = plain(pb.DeployRequest(legacy_config_json={"a.py": '{"kind": "sync"}'}))
    assert deploy["legacy_config"] == {"a.py": {"kind": "sync"}}


@click.command()
@click.option("--json", "compact", is_flag=True)
def _show_runs(compact: bool) -> None:
    value = {"runs": [plain(pb.Run(run_id="r1", function_name="f", state=pb.RUN_STATE_QUEUED))]}
    emit(value, compact, RUNS)


def _emit_runs(compact: bool) -> str:
    result = CliRunner().invoke(_show_runs, ["--json"] if compact else [])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_terminal_gets_a_table_and_json_gets_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_output, "on_terminal", lambda: True)
    table = _emit_runs(compact=False)
    assert table.splitlines()[0].split()[:4] == ["RUN", "FUNCTION", "KIND", "STATE"]
    assert "queued" in table.splitlines()[2]
    line = _emit_runs(compact=True)  # --json, even on a terminal
    assert json.loads(line)["runs"][0]["state"] == "queued"
    assert len(line.strip().splitlines()) == 1


def test_a_script_gets_json_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_output, "on_terminal", lambda: False)
    assert json.loads(_emit_runs(compact=False))["runs"][0]["run_id"] == "r1"


def test_tables_fit_the_width_and_say_when_empty() -> None:
    table = Table("items", [("NAME", field("name")), ("VALUE", field("value"))], empty="none")
    text = table.render({"items": [{"name": "a" * 80, "value": {"k": 1}}]}, width=40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "…" in text
    assert table.render({"items": []}) == "(none)"
