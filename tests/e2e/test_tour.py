"""The README's five-minute tour, command by command, against a real server and a fake API."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi
from tests.support.postgres import free_port
from tests.support.service import Service, running_service
from tests.support.service import corral as run_corral

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def github_api(fake_api: FakeApi) -> FakeApi:
    issues = [
        {
            "id": 1000 + n,
            "number": n,
            "title": f"Issue {n}",
            "state": "open",
            "html_url": f"https://github.example/acme/app/issues/{n}",
        }
        for n in range(1, 6)
    ]

    def page(seen: object) -> tuple[int, object, dict[str, str]]:
        path = getattr(seen, "path", "")
        if "page=2" in path:
            return 200, issues[3:], {}
        link = f'<{fake_api.url}/repos/acme/app/issues?state=all&per_page=100&page=2>; rel="next"'
        return 200, issues[:3], {"link": link}

    fake_api.routes[("GET", "/repos/acme/app/issues")] = page
    fake_api.route("GET", "/user", body={"login": "octo"}, headers={"x-oauth-scopes": "repo"})
    fake_api.route(
        "POST",
        "/repos/acme/app/issues",
        status=201,
        body={"id": 9042, "number": 42, "html_url": "https://github.example/acme/app/issues/42"},
    )
    return fake_api


def corral(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return run_corral(service, *args, cwd=ROOT)


def ok(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_tour(service: Service, github_api: FakeApi) -> None:
    deployed = ok(corral(service, "deploy", "examples/github"))
    names = sorted(f["name"] for f in deployed["functions"])  # type: ignore[index]
    assert names == ["check_access", "create_issue", "issues"]
    ok(
        corral(
            service,
            "integration",
            "create",
            "github",
            "--base-url",
            github_api.url,
            "--auth-mode",
            "API_KEY",
        )
    )
    ok(
        corral(
            service,
            "connection",
            "create",
            "--integration",
            "github",
            "--id",
            "acme",
            "--api-key",
            "ghp_example",
            "--metadata",
            '{"repo": "acme/app"}',
        )
    )

    created = ok(
        corral(
            service,
            "trigger",
            "action",
            "create_issue",
            "--connection",
            "acme",
            "--input",
            '{"owner": "acme", "repo": "app", "title": "Hello"}',
        )
    )
    assert created == {
        "id": "9042",
        "number": 42,
        "url": "https://github.example/acme/app/issues/42",
    }
    post = next(s for s in github_api.seen if s.method == "POST")
    assert post.headers["authorization"] == "Bearer ghp_example"
    assert json.loads(post.body) == {"title": "Hello", "body": "", "labels": []}

    refused = corral(
        service,
        "trigger",
        "action",
        "create_issue",
        "--connection",
        "acme",
        "--input",
        '{"owner": "acme", "repo": "app", "title": "[blocked] no"}',
    )
    assert refused.returncode == 1
    assert json.loads(refused.stderr)["error_type"] == "action_script_failure"

    ok(corral(service, "trigger", "sync", "issues", "--connection", "acme"))
    records = ok(corral(service, "records", "--connection", "acme", "--model", "Issue"))
    assert [r["number"] for r in records["records"]] == [1, 2, 3, 4, 5]  # type: ignore[index]
    assert records["records"][0]["_nango_metadata"]["last_action"] == "ADDED"  # type: ignore[index]

    runs = ok(corral(service, "runs", "--connection", "acme"))
    created_runs = [r for r in runs["runs"] if r["function_name"] == "create_issue"]  # type: ignore[index]
    first = created_runs[-1]["run_id"]
    assert any(r["function_name"] == "check_access" for r in runs["runs"])  # type: ignore[index]
    logs = ok(corral(service, "logs", first))
    assert logs["logs"][0]["message"] == "created issue #42"  # type: ignore[index]
    _read_back(service, github_api, first, created)


def _read_back(service: Service, github_api: FakeApi, first: str, created: object) -> None:
    """What the tour's runs look like to a script: plain JSON, prefixes, follow, typos."""
    logs = ok(corral(service, "logs", first))
    # Plain JSON for scripts: enums as words, JSON fields as values, every field present.
    run = logs["run"]  # type: ignore[index]
    assert (run["kind"], run["state"]) == ("action", "succeeded")
    assert run["output"] == created
    assert run["input"] == {"owner": "acme", "repo": "app", "title": "Hello"}
    assert run["error"] is None
    assert isinstance(run["logs_dropped"], int)
    assert "output_json" not in run
    typo = corral(service, "trigger", "action", "create_isue", "--connection", "acme")
    assert typo.returncode == 1
    assert "did you mean 'create_issue'?" in json.loads(typo.stderr)["message"]
    typo = corral(service, "trigger", "action", "create_issue", "--connection", "acmee")
    assert json.loads(typo.stderr)["details"]["did_you_mean"] == "acme"
    integrations = ok(corral(service, "integration", "list"))
    assert [i["unique_key"] for i in integrations["integrations"]] == ["github"]  # type: ignore[index]
    got = ok(corral(service, "integration", "get", "github"))
    assert (got["auth_mode"], got["base_url"]) == ("API_KEY", github_api.url)  # type: ignore[index]
    assert json.loads(corral(service, "integration", "get", "githbu").stderr)["details"] == {
        "did_you_mean": "github"
    }
    by_prefix = ok(corral(service, "runs", first[:8]))
    assert by_prefix["run"]["run_id"] == first  # type: ignore[index]
    assert ok(corral(service, "logs", first[:8]))["run"]["run_id"] == first  # type: ignore[index]
    followed = corral(service, "logs", first[:8], "--follow")
    assert followed.returncode == 0, followed.stderr
    *lines, end = [json.loads(line) for line in followed.stdout.splitlines()]
    assert [line["message"] for line in lines] == ["created issue #42"]
    assert end["run"]["state"] == "succeeded"
    compact = corral(service, "runs", "--connection", "acme", "--json")
    assert compact.returncode == 0
    assert len(compact.stdout.strip().splitlines()) == 1


def test_env_create_makes_a_working_key(service: Service) -> None:
    made = ok(corral(service, "env", "create", "staging", "--data-dir", str(service.data_dir)))
    with Client(service.address, made["secret_key"]) as staging:  # type: ignore[index]
        assert not staging.call("ListFunctions", pb.ListFunctionsRequest()).functions
    again = corral(service, "env", "create", "staging", "--data-dir", str(service.data_dir))
    assert again.returncode == 1
    assert json.loads(again.stderr)["error_type"] == "environment_exists"


def test_env_list_and_rotate_key_and_a_wrong_key_says_where_keys_come_from(
    service: Service,
) -> None:
    data = ("--data-dir", str(service.data_dir))
    made = ok(corral(service, "env", "create", "rotating", *data))
    listed = ok(corral(service, "env", "list", *data))
    names = [e["name"] for e in listed["environments"]]  # type: ignore[index]
    assert "rotating" in names
    assert names == sorted(names)
    rotated = ok(corral(service, "env", "rotate-key", "rotating", *data))
    assert rotated["secret_key"] != made["secret_key"]  # type: ignore[index]
    with Client(service.address, rotated["secret_key"]) as fresh:  # type: ignore[index]
        assert not fresh.call("ListFunctions", pb.ListFunctionsRequest()).functions
    old = corral(service, "runs", "--secret-key", made["secret_key"])  # type: ignore[index]
    assert old.returncode == 1
    error = json.loads(old.stderr)
    assert error["error_type"] == "invalid_secret_key"
    assert "corral env create" in error["message"]
    assert "CORRAL_SECRET_KEY" in error["message"]
    unknown = corral(service, "env", "rotate-key", "nobody", *data)
    assert json.loads(unknown.stderr)["error_type"] == "unknown_environment"


def test_an_unreachable_server_asks_whether_corral_serve_runs_there(service: Service) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = corral(service, "runs", "--server", address)
    assert result.returncode == 1
    error = json.loads(result.stderr)
    assert error["error_type"] == "server_unreachable"
    assert f"is `corral serve` running at {address}?" in error["message"]


def test_a_dot_env_file_gives_the_server_and_key_and_the_environment_wins(
    service: Service, tmp_path: pathlib.Path
) -> None:
    (tmp_path / ".env").write_text(
        "# the seeds' CLI keeps its keys here too\n"
        "NANGO_SECRET_KEY_DEV=not-ours\n"
        f"CORRAL_SERVER={service.address}\n"
        f"CORRAL_SECRET_KEY={service.secret_key}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    command = [sys.executable, "-m", "corral", "runs", "--json"]
    read = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )
    assert read.returncode == 0, read.stderr
    assert "runs" in json.loads(read.stdout)
    wrong = env | {  # the environment wins over the file
        "CORRAL_SECRET_KEY": "sk_" + "x" * 43,
        "CORRAL_SERVER": service.address,
    }
    refused = subprocess.run(
        command, env=wrong, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )
    assert json.loads(refused.stderr)["error_type"] == "invalid_secret_key"


def test_connection_delete_asks_and_a_script_must_say_yes(service: Service) -> None:
    with Client(service.address, service.secret_key) as client:
        client.call("CreateIntegration", pb.CreateIntegrationRequest(unique_key="doomed"))
        client.call(
            "CreateConnection", pb.CreateConnectionRequest(integration="doomed", connection_id="d1")
        )
    refused = corral(service, "connection", "delete", "d1")  # no terminal: nobody can answer
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    listed = ok(corral(service, "connection", "list", "--integration", "doomed"))
    assert [c["connection_id"] for c in listed["connections"]] == ["d1"]  # type: ignore[index]
    ok(corral(service, "connection", "delete", "d1", "--yes"))
    assert ok(corral(service, "connection", "list", "--integration", "doomed")) == {
        "connections": []
    }


SHOP_SYNC = (
    "from nango import create_sync\n"
    "def fetch(nango):\n"
    "    pass\n"
    "sync = create_sync(description='{what}', frequency='every hour', models={{}}, exec=fetch)\n"
)
SHOP_ACTION = (
    "from nango import create_action\n"
    "def run(nango, input):\n"
    "    return {value!r}\n"
    "action = create_action(description='x', exec=run)\n"
)


def test_deploy_says_what_changes_and_asks_before_removing(
    service: Service, tmp_path: pathlib.Path
) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "orders.py").write_text(SHOP_SYNC.format(what="orders"))
    (folder / "refund.py").write_text(SHOP_ACTION.format(value=1))
    first = ok(corral(service, "deploy", str(folder)))
    assert (first["added"], first["removed"]) == (["orders", "refund"], [])  # type: ignore[index]
    assert [c["change"] for c in first["changes"]] == ["added", "added"]  # type: ignore[index]
    again = ok(corral(service, "deploy", str(folder)))
    assert again["unchanged"] == ["orders", "refund"]  # type: ignore[index]
    with Client(service.address, service.secret_key) as client:
        client.call(
            "CreateConnection", pb.CreateConnectionRequest(integration="shop", connection_id="s1")
        )
        client.call("StartSync", pb.SyncScheduleRequest(sync_name="orders", connection_id="s1"))
    # --function: only refund is redeployed; orders stays as deployed
    (folder / "refund.py").write_text(SHOP_ACTION.format(value=2))
    one = ok(corral(service, "deploy", str(folder), "--function", "refund"))
    assert (one["changed"], one["removed"]) == (["refund"], [])  # type: ignore[index]
    assert corral(service, "deploy", str(folder), "--function", "nope").returncode == 1
    (folder / "orders.py").unlink()  # removing a sync with a running schedule
    refused = corral(service, "deploy", str(folder))
    assert refused.returncode == 2  # a script must say --yes
    assert "removes 1 function(s): orders; 1 sync schedule(s) stop" in refused.stderr
    with Client(service.address, service.secret_key) as client:
        names = {
            f.name
            for f in client.call(
                "ListFunctions", pb.ListFunctionsRequest(integration="shop")
            ).functions
        }
    assert names == {"orders", "refund"}  # nothing was removed
    done = ok(corral(service, "deploy", str(folder), "--yes"))
    assert done["removed"] == ["orders"]  # type: ignore[index]
    assert done["schedules_stopped"] == [  # type: ignore[index]
        {"sync": "orders", "connection": "s1", "variant": "base"}
    ]


def test_a_manual_sync_run_is_its_schedules_last_run(
    service: Service, tmp_path: pathlib.Path
) -> None:
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / "orders.py").write_text(SHOP_SYNC.format(what="orders"))
    ok(corral(service, "deploy", str(folder)))
    with Client(service.address, service.secret_key) as client:
        client.call(
            "CreateConnection", pb.CreateConnectionRequest(integration="manual", connection_id="m1")
        )
    ok(corral(service, "sync", "pause", "orders", "--connection", "m1"))  # the scheduler waits
    run = ok(corral(service, "trigger", "sync", "orders", "--connection", "m1"))
    listed = ok(corral(service, "schedules", "--connection", "m1"))
    (schedule,) = listed["schedules"]  # type: ignore[index]
    assert schedule["last_run_id"] == run["run_id"]  # type: ignore[index]


def test_a_planted_dot_env_cannot_send_the_users_key_elsewhere(
    service: Service, tmp_path: pathlib.Path
) -> None:
    """A cloned folder's .env names a server; the key is in the user's environment: the key is
    not sent there, the command says why, and naming the server yourself works."""
    (tmp_path / ".env").write_text("CORRAL_SERVER=127.0.0.1:9\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env["CORRAL_SECRET_KEY"] = service.secret_key
    command = [sys.executable, "-m", "corral", "runs", "--json"]
    refused = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )
    assert refused.returncode == 2
    assert "CORRAL_SERVER" in refused.stderr
    assert "never sent where a file alone says" in refused.stderr
    for spelling in ("corral_server", "export Corral_Server"):  # read as the settings read it
        (tmp_path / ".env").write_text(f"{spelling}=127.0.0.1:9\n")
        planted = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
        )
        assert planted.returncode == 2, planted.stderr
        assert "never sent where a file alone says" in planted.stderr
    (tmp_path / ".env").write_text("CORRAL_SERVER=127.0.0.1:9\n")
    mine = subprocess.run(
        [*command, "--server", service.address],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert mine.returncode == 0, mine.stderr


def test_client_without_a_key_is_a_usage_error(service: Service) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CORRAL_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "corral", "runs", "--server", service.address],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "secret key" in result.stderr


@pytest.fixture
def own_service(tmp_path: pathlib.Path) -> Iterator[Service]:
    # A long grace, so that a loaded machine still lets the in-flight run finish.
    with running_service(tmp_path / "data", CORRAL_SHUTDOWN_GRACE_SECONDS="60") as svc:
        yield svc


def test_sigterm_lets_an_in_flight_run_finish(own_service: Service) -> None:
    slow = (
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    total = 0\n"
        "    for i in range(1_000_000):\n"
        "        total += i\n"
        "    return total\n"
        "action = create_action(description='slow', exec=run)\n"
    )
    with Client(own_service.address, own_service.secret_key) as client:
        client.call("Deploy", pb.DeployRequest(integration="slow", files={"slow.py": slow}))
        client.call(
            "CreateConnection", pb.CreateConnectionRequest(integration="slow", connection_id="c")
        )
        request = pb.TriggerActionRequest(action_name="slow", connection_id="c")
        setattr(request, "async", True)
        run_id = client.call("TriggerAction", request).run_id
    own_service.process.send_signal(signal.SIGTERM)
    assert own_service.process.wait(timeout=90) == 0
    from orchestrator.storage._sqlite import SqliteStorage  # noqa: PLC0415

    storage = SqliteStorage(own_service.data_dir / "corral.db")
    try:
        env = storage.get_environment("dev")
        run = storage.get_run(env.id, run_id)
        assert run.state == "succeeded", run.error
        assert json.loads(run.output_json or "null") == sum(range(1_000_000))
    finally:
        storage.close()


def test_variables_reach_functions(service: Service) -> None:
    reader = (
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    return nango.get_environment_variables()\n"
        "action = create_action(description='vars', exec=run)\n"
    )
    with Client(service.address, service.secret_key) as client:
        client.call("Deploy", pb.DeployRequest(integration="vars", files={"read_vars.py": reader}))
        client.call(
            "CreateConnection", pb.CreateConnectionRequest(integration="vars", connection_id="v")
        )
    assert ok(corral(service, "variables", "API_HOST=example.com", "TOKEN=a=b")) == {
        "variables": ["API_HOST", "TOKEN"]
    }
    output = ok(corral(service, "trigger", "action", "read_vars", "--connection", "v"))
    assert output == [
        {"name": "API_HOST", "value": "example.com"},
        {"name": "TOKEN", "value": "a=b"},
    ]
    assert corral(service, "variables", "oops").returncode == 2
    # No argument lists the names and changes nothing (never clears); --clear clears.
    assert ok(corral(service, "variables")) == {"variables": ["API_HOST", "TOKEN"]}
    assert ok(corral(service, "variables", "list")) == {"variables": ["API_HOST", "TOKEN"]}
    assert ok(corral(service, "trigger", "action", "read_vars", "--connection", "v")) == output
    assert corral(service, "variables", "--clear", "A=b").returncode == 2
    assert ok(corral(service, "variables", "--clear")) == {"variables": []}
    assert ok(corral(service, "variables")) == {"variables": []}
