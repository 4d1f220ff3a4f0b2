"""``corral deploy`` describes the folder once: one Deploy that refuses to remove anything
(``refuse_removals``); only when it is refused, because functions would go, does it ask and
send again. Against a stand-in server that records the calls (the real flow, with a real serve,
is ``tests/e2e/test_tour.py``'s)."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest
from click.testing import CliRunner

from corral.cli import _client_options, _deploy_command, _output
from corral.cli._main import cli
from corral.errors import InvalidRequest
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb

SYNC = common_pb2.FUNCTION_KIND_SYNC
ACTION = common_pb2.FUNCTION_KIND_ACTION


class _Server:
    """What the stand-in client answers: the deployed functions, and the schedules."""

    def __init__(self, deployed: dict[str, int]) -> None:
        self.deployed = deployed
        self.calls: list[tuple[str, Any]] = []

    def call(self, rpc: str, request: Any, timeout: float | None = None) -> Any:
        sent = type(request)()
        sent.CopyFrom(request)  # as sent: the command may change its request afterwards
        self.calls.append((rpc, sent))
        if rpc == "ListFunctions":
            return pb.ListFunctionsResponse(functions=self._infos(self.deployed))
        if rpc == "Deploy":
            new = {name.removesuffix(".py"): ACTION for name in request.files}
            removed = sorted(set(self.deployed) - set(new))
            if set(removed) - set(request.allow_removing) and request.refuse_removals:
                raise InvalidRequest(
                    "would remove", code="deploy_removes_functions", details={"removed": removed}
                )
            self.deployed = new
            return pb.DeployResponse(functions=self._infos(new))
        if rpc == "ListSyncSchedules":
            schedule = pb.SyncSchedule(sync_name="orders", connection_id="c1", variant="base")
            return pb.ListSyncSchedulesResponse(schedules=[schedule])
        if rpc == "ListConnections":
            return pb.ListConnectionsResponse(connections=[pb.Connection(connection_id="c1")])
        raise AssertionError(f"unexpected {rpc}")

    def deploys(self) -> list[tuple[bool, list[str]]]:
        """``refuse_removals`` and ``allow_removing`` of each Deploy sent."""
        return [
            (request.refuse_removals, list(request.allow_removing))
            for rpc, request in self.calls
            if rpc == "Deploy"
        ]

    @staticmethod
    def _infos(functions: dict[str, int]) -> list[pb.FunctionInfo]:
        return [
            pb.FunctionInfo(integration="shop", name=name, kind=kind, code_hash="h")  # type: ignore[arg-type]
            for name, kind in sorted(functions.items())
        ]


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "refund.py").write_text("# a function\n")
    return shop


def _deploy(
    monkeypatch: pytest.MonkeyPatch, server: _Server, folder: pathlib.Path, *options: str
) -> Any:
    class Client:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> _Server:
            return server

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(_client_options, "Client", Client)
    for name in [n for n in os.environ if n.startswith("CORRAL_")]:
        monkeypatch.delenv(name)
    command = ["deploy", str(folder), "--secret-key", "k" * 40, "--json", *options]
    return CliRunner().invoke(cli, command, catch_exceptions=False)


def test_a_deploy_that_removes_nothing_is_described_once(
    monkeypatch: pytest.MonkeyPatch, folder: pathlib.Path
) -> None:
    server = _Server({"refund": ACTION})
    (folder / "cancel.py").write_text("# another\n")
    result = _deploy(monkeypatch, server, folder)
    assert result.exit_code == 0, result.output
    assert server.deploys() == [(True, [])]
    assert '"added":["cancel"]' in result.output.replace(" ", "")
    assert '"unchanged":["refund"]' in result.output.replace(" ", "")


def test_a_deploy_that_removes_asks_first_and_sends_again(
    monkeypatch: pytest.MonkeyPatch, folder: pathlib.Path
) -> None:
    server = _Server({"refund": ACTION, "orders": SYNC})
    asked: list[str] = []
    monkeypatch.setattr(_deploy_command, "confirm", asked.append)  # a person says yes
    result = _deploy(monkeypatch, server, folder)
    assert result.exit_code == 0, result.output
    assert server.deploys() == [(True, []), (True, ["orders"])]
    assert asked == [
        "Deploying shop removes 1 function(s): orders; 1 sync schedule(s) stop. Go on?"
    ]
    assert '"removed":["orders"]' in result.output.replace(" ", "")


def test_a_script_without_yes_is_refused_and_nothing_goes(
    monkeypatch: pytest.MonkeyPatch, folder: pathlib.Path
) -> None:
    server = _Server({"refund": ACTION, "orders": SYNC})
    monkeypatch.setattr(_output, "can_ask", lambda: False)
    result = _deploy(monkeypatch, server, folder)
    assert result.exit_code == 2
    assert server.deploys() == [(True, [])]
    assert server.deployed == {"refund": ACTION, "orders": SYNC}


def test_yes_removes_in_one_deploy_and_says_which_schedules_stopped(
    monkeypatch: pytest.MonkeyPatch, folder: pathlib.Path
) -> None:
    server = _Server({"refund": ACTION, "orders": SYNC})
    result = _deploy(monkeypatch, server, folder, "--yes")
    assert result.exit_code == 0, result.output
    assert server.deploys() == [(False, [])]
    flat = result.output.replace(" ", "")
    assert '"schedules_stopped":[{"sync":"orders","connection":"c1","variant":"base"}]' in flat


def test_a_function_deployed_by_someone_else_after_the_yes_is_not_removed(
    monkeypatch: pytest.MonkeyPatch, folder: pathlib.Path
) -> None:
    """The second Deploy may remove only what the person said yes to."""
    server = _Server({"refund": ACTION, "orders": SYNC})

    def meanwhile(question: str) -> None:
        server.deployed = server.deployed | {"late": ACTION}  # another deploy, while asked

    monkeypatch.setattr(_deploy_command, "confirm", meanwhile)
    result = _deploy(monkeypatch, server, folder)
    assert result.exit_code == 1
    assert '"error_type":"deploy_removes_functions"' in result.output.replace(" ", "")
    assert server.deploys() == [(True, []), (True, ["orders"])]
    assert set(server.deployed) == {"refund", "orders", "late"}
