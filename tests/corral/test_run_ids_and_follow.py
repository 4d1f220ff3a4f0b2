"""A run id by a unique prefix (find_run), and logs --follow polling a run until it ends,
against a fake API client."""

from __future__ import annotations

import json
from typing import Any

import click
import pytest
from click.testing import CliRunner

from corral.cli import _follow
from corral.cli._follow import follow_logs
from corral.cli._run_ids import find_run
from corral.errors import InvalidRequest, NotFound
from corral.v1 import orchestrator_pb2 as pb

IDS = [
    "3f2a0000-0000-4000-8000-000000000001",
    "3f2b0000-0000-4000-8000-000000000002",
    "9c000000-0000-4000-8000-000000000003",
]


class _Api:
    """GetRun by exact id, ListRuns in pages of two, GetRunLogs by a cursor of seq numbers;
    the run gains a line at each GetRun until it has three, then ends."""

    def __init__(self) -> None:
        self.lines: list[str] = ["first"]
        self.state = pb.RUN_STATE_RUNNING

    def call(self, rpc: str, request: Any, timeout: float | None = None) -> Any:
        if rpc == "GetRun":
            if request.run_id not in IDS:
                raise NotFound("no such run", code="unknown_run")
            if len(self.lines) < 3:
                self.lines.append(f"line {len(self.lines) + 1}")
            else:
                self.state = pb.RUN_STATE_FAILED
            return pb.Run(run_id=request.run_id, state=self.state)
        if rpc == "ListRuns":
            start = int(request.cursor or 0)
            page = [pb.Run(run_id=i) for i in IDS[start : start + 2]]
            more = start + 2 < len(IDS)
            return pb.ListRunsResponse(runs=page, next_cursor=str(start + 2) if more else "")
        if rpc == "GetRunLogs":
            after = int(request.cursor or 0)
            new = [
                pb.LogLine(seq=n, level="info", message=m)
                for n, m in enumerate(self.lines, start=1)
                if n > after
            ]
            return pb.GetRunLogsResponse(lines=new, tail_cursor=str(new[-1].seq) if new else "")
        raise AssertionError(rpc)


def test_a_unique_prefix_finds_its_run_an_ambiguous_one_names_the_candidates() -> None:
    api = _Api()
    assert find_run(api, IDS[2]).run_id == IDS[2]  # type: ignore[arg-type]
    assert find_run(api, "9c").run_id == IDS[2]  # type: ignore[arg-type]  # on the second page
    assert find_run(api, "3f2b").run_id == IDS[1]  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest) as ambiguous:
        find_run(api, "3f2")  # type: ignore[arg-type]
    assert ambiguous.value.code == "ambiguous_run_id"
    assert IDS[0] in ambiguous.value.message
    assert IDS[1] in ambiguous.value.message
    with pytest.raises(NotFound) as none:
        find_run(api, "ffff")  # type: ignore[arg-type]
    assert none.value.code == "unknown_run"


def test_follow_prints_each_line_once_as_it_comes_then_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_follow, "POLL_SECONDS", 0.0)
    monkeypatch.setattr(_follow, "on_terminal", lambda: False)
    api = _Api()

    @click.command()
    def follow() -> None:
        follow_logs(api, pb.Run(run_id=IDS[0], state=pb.RUN_STATE_RUNNING), compact=True)

    result = CliRunner().invoke(follow)
    assert result.exit_code == 1  # the run failed
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["message"] for p in printed[:-1]] == ["first", "line 2", "line 3"]
    assert printed[-1]["run"]["state"] == "failed"
