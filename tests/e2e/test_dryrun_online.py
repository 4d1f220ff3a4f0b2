"""Dry runs through the orchestrator: the real API, credentials injected, nothing stored;
and the responses they record replay offline."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from corral.cli import Client
from corral.cli._dryrun_online import online_dryrun
from corral.errors import NotFound
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi

SYNC = """
from nango import create_sync
from pydantic import BaseModel


class Ticket(BaseModel):
    id: str
    subject: str


def fetch(nango):
    nango.log('starting', level='info')
    seen = 0
    for page in nango.paginate(endpoint='/tickets', paginate={
            'type': 'cursor', 'cursor_path_in_response': 'next', 'cursor_name_in_request': 'cursor',
            'response_path': 'items', 'limit_name_in_request': 'limit', 'limit': 2}):
        nango.batch_save([Ticket(id=str(t['id']), subject=t['subject']) for t in page], 'Ticket')
        seen += len(page)
    nango.batch_delete([{'id': 'gone'}], 'Ticket')
    nango.update_metadata({'last_count': seen})
    nango.save_checkpoint({'seen': seen})
    nango.log('done', seen, level='debug')


sync = create_sync(description='tickets', frequency='every hour', models={'Ticket': Ticket},
                   exec=fetch)
"""


@pytest.fixture(scope="module")
def tickets_api(fake_api: FakeApi) -> FakeApi:
    def page(seen: object) -> tuple[int, object, dict[str, str]]:
        if "cursor=c2" in getattr(seen, "path", ""):
            return 200, {"items": [{"id": 3, "subject": "c"}], "next": ""}, {}
        return (
            200,
            {"items": [{"id": 1, "subject": "a"}, {"id": 2, "subject": "b"}], "next": "c2"},
            {},
        )

    fake_api.routes[("GET", "/tickets")] = page
    return fake_api


@pytest.fixture(scope="module")
def desk(service: object, tickets_api: FakeApi) -> str:
    from tests.support.service import Service  # noqa: PLC0415

    assert isinstance(service, Service)
    with Client(service.address, service.secret_key) as client:
        client.call(
            "CreateIntegration",
            pb.CreateIntegrationRequest(
                unique_key="desk", base_url=tickets_api.url, auth_mode="BEARER"
            ),
        )
        client.call(
            "CreateConnection",
            pb.CreateConnectionRequest(
                integration="desk",
                connection_id="d1",
                metadata_json='{"team": "x"}',
                credentials_json=json.dumps({"type": "BEARER", "token": "tok-123"}),
            ),
        )
    return "d1"


def test_a_dry_run_uses_the_real_api_and_stores_nothing(
    client: Client, desk: str, tickets_api: FakeApi, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "desk" / "tickets.py"
    path.parent.mkdir()
    path.write_text(SYNC)
    lines: list[str] = []
    result = online_dryrun(client, path, desk, on_log=lambda line: lines.append(line.message))
    assert result["ok"], result["error"]
    assert result["records"] == {
        "Ticket": [
            {"id": "1", "subject": "a"},
            {"id": "2", "subject": "b"},
            {"id": "3", "subject": "c"},
        ]
    }
    assert result["deleted"] == {"Ticket": [{"id": "gone"}]}
    assert lines == ["starting", "done"]
    assert all(
        s.headers["authorization"] == "Bearer tok-123"
        for s in tickets_api.seen
        if s.path.startswith("/tickets")
    )
    assert not client.call(
        "ListRecords", pb.ListRecordsRequest(connection_id=desk, model="Ticket")
    ).records
    connection = client.call("GetConnection", pb.GetConnectionRequest(connection_id=desk))
    assert json.loads(connection.metadata_json) == {"team": "x"}
    assert not client.call("ListRuns", pb.ListRunsRequest(connection_id=desk)).runs


def test_saved_responses_replay_offline(client: Client, desk: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "desk" / "tickets.py"
    path.parent.mkdir()
    path.write_text(SYNC)
    fixture = tmp_path / "tickets.test.json"
    online = online_dryrun(client, path, desk, metadata={"team": "x"}, save_responses=fixture)
    saved = json.loads(fixture.read_text())
    entries = saved["api"]["get"]["/tickets"]
    assert len(entries) == 2
    assert {e["request"]["params"].get("cursor") for e in entries} == {None, "c2"}
    assert all("authorization" not in json.dumps(e["request"]).lower() for e in entries)
    assert saved["nango"]["batchSave"] == online["records"]
    replay = subprocess.run(
        [sys.executable, "-m", "corral", "dryrun", str(path), "--fixture", str(fixture), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    offline = json.loads(replay.stdout)
    assert offline["records"] == online["records"]
    assert offline["deleted"] == online["deleted"]


def test_a_dry_run_of_a_failing_function_reports_the_error(
    client: Client, desk: str, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "desk" / "broken.py"
    path.parent.mkdir()
    path.write_text(
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    return 1 / 0\n"
        "action = create_action(description='x', exec=run)\n"
    )
    result = online_dryrun(client, path, desk)
    assert not result["ok"]
    assert result["error"]["type"] == "script_internal_error"
    assert result["error"]["line"] == 3


def test_a_failed_run_saves_no_responses_unless_forced(
    client: Client, desk: str, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "desk" / "half.py"
    path.parent.mkdir()
    path.write_text(
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    nango.get(endpoint='/tickets')\n"
        "    raise ValueError('after the call')\n"
        "action = create_action(description='x', exec=run)\n"
    )
    saved = tmp_path / "half.test.json"
    assert not online_dryrun(client, path, desk, save_responses=saved)["ok"]
    assert not saved.exists()
    assert not online_dryrun(client, path, desk, save_responses=saved, force_save=True)["ok"]
    assert json.loads(saved.read_text())["api"]["get"]["/tickets"]


def test_a_dry_run_for_an_unknown_connection_is_not_found(
    client: Client, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "desk" / "tickets.py"
    path.parent.mkdir()
    path.write_text(SYNC)
    with pytest.raises(NotFound):
        online_dryrun(client, path, "nope")


def test_the_command_runs_online_prints_logs_and_saves_responses(
    service: object, desk: str, tmp_path: pathlib.Path
) -> None:
    from tests.support.service import Service  # noqa: PLC0415

    assert isinstance(service, Service)
    path = tmp_path / "desk" / "tickets.py"
    path.parent.mkdir()
    path.write_text(SYNC)
    fixture = tmp_path / "saved.test.json"
    command = [sys.executable, "-m", "corral", "dryrun", str(path), "--connection", desk]
    result = subprocess.run(
        [*command, "--server", service.address, "--secret-key", service.secret_key,
         "--save-responses", str(fixture), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[info] starting" in result.stderr
    assert json.loads(result.stdout)["records"]["Ticket"][2] == {"id": "3", "subject": "c"}
    assert json.loads(fixture.read_text())["api"]["get"]["/tickets"]
    offline = [sys.executable, "-m", "corral", "dryrun", str(path)]
    misuse = subprocess.run(
        [*offline, "--save-responses", "x"], capture_output=True, text=True, timeout=60, check=False
    )
    assert misuse.returncode == 2
