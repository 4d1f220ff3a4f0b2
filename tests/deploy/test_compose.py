"""deploy/compose.yaml's services, built as far as this machine allows: no Docker daemon here,
so its corral services run as processes with the file's own commands, environments and health
checks (tests/deploy/compose_processes.py), on the session's PostgreSQL server for its
``postgres`` service, with certificates made by its ``certs`` service's command. Two
orchestrators and two runners that join them over mutual TLS; a deploy, an action through each
orchestrator, both runners in ListRunners, every metrics endpoint answering."""

from __future__ import annotations

import json
import pathlib
import re
import urllib.request

import pytest

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb
from tests.deploy.compose_processes import ComposeProcesses
from tests.deploy.manifests import compose_environment, corral_arguments, load_compose
from tests.support.fleet import fleet, wait_until
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.slow

VARIABLES = {
    "CORRAL_POSTGRES_PASSWORD": "unused-here",
    "CORRAL_JOIN_SECRET": "compose-join-secret-0123456789abcdef",
}
# One warm worker instead of the default two: the same layers, a faster start.
OVERRIDES = {"CORRAL_PREWARM_WORKERS": "1", "CORRAL_RUNNER_PREWARM_WORKERS": "1"}

ECHO = """
from nango import create_action

def run(nango, input):
    return {'echo': input}

action = create_action(description='answers at once', exec=run)
"""


def _metrics(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        return str(response.read().decode())


def test_the_compose_services_run_as_processes_and_serve_an_action(
    tmp_path: pathlib.Path, postgres_server: PostgresServer
) -> None:
    compose = load_compose(VARIABLES)
    url = postgres_server.create_database("compose_services")
    with ComposeProcesses(tmp_path, compose, url, OVERRIDES) as services:
        services.make_secrets(VARIABLES)
        services.make_certs()
        # As compose orders them (depends_on): the orchestrators once the database is up, each
        # runner once its orchestrator is healthy. The first one creates the schema and `dev`.
        services.start("orchestrator-1")
        services.wait_healthy("orchestrator-1")
        services.start("orchestrator-2")
        services.start("runner-1")
        services.wait_healthy("orchestrator-2")
        services.start("runner-2")
        services.wait_healthy("runner-1")  # corral.containment: every layer applies
        services.wait_healthy("runner-2")
        for name in ("runner-1", "runner-2"):
            started = next(
                json.loads(line)
                for line in services.output(name).splitlines()
                if '"runner started"' in line
            )
            assert started["transport"] == "mtls"
            assert started["layers_missing"] == {}  # strict containment, as in the image

        key = re.search(r"sk_\S+", services.output("orchestrator-1", "stdout"))
        assert key, services.output("orchestrator-1")
        assert "sk_" not in services.output("orchestrator-2", "stdout")  # one banner only
        ca = (tmp_path / "tls" / "ca.pem").read_bytes()
        addresses = {
            name: services.localize(
                name, f"127.0.0.1:{compose_environment(compose['services'][name])['CORRAL_PORT']}"
            )
            for name in ("orchestrator-1", "orchestrator-2")
        }
        advertised = set()
        for name in ("runner-1", "runner-2"):
            arguments = corral_arguments(compose["services"][name]["command"])
            advertise = arguments[arguments.index("--advertise") + 1]
            advertised.add(services.localize(name, advertise))

        with (
            Client(addresses["orchestrator-1"], key.group(0), tls_ca=ca) as one,
            Client(addresses["orchestrator-2"], key.group(0), tls_ca=ca) as two,
        ):
            # On PostgreSQL the fleet is shared: each orchestrator sees both runners, whichever
            # one each runner joined.
            for client in (one, two):
                wait_until(
                    lambda c=client: (
                        {a for a, r in fleet(c).items() if r.state == "ready"} == advertised
                    )
                )
            for runner in fleet(one).values():
                assert runner.layers_applied
                assert runner.slots > 0

            one.call("Deploy", pb.DeployRequest(integration="shop", files={"echo.py": ECHO}))
            one.call(
                "CreateConnection",
                pb.CreateConnectionRequest(
                    integration="shop", connection_id="c", base_url="http://127.0.0.1:9"
                ),
            )
            for n, client in enumerate((one, two)):
                request = pb.TriggerActionRequest(
                    action_name="echo", connection_id="c", input_json=json.dumps(n)
                )
                result = client.call("TriggerAction", request, timeout=60)
                assert json.loads(result.output_json) == {"echo": n}

        for name in ("orchestrator-1", "orchestrator-2"):
            address = compose_environment(compose["services"][name])["CORRAL_METRICS_ADDRESS"]
            assert "corral_runs_total" in _metrics(services.localize(name, address))
        for name in ("runner-1", "runner-2"):
            arguments = corral_arguments(compose["services"][name]["command"])
            address = arguments[arguments.index("--metrics-address") + 1]
            assert "corral_workers" in _metrics(services.localize(name, address))

    for name, process in services.processes.items():
        assert process.returncode == 0, (name, services.output(name)[-2000:])
