"""The deployment manifests parse, and everything in them is something corral has: each
command and probe parses with corral's own command line, each variable is a setting with a
valid value, the runners get every kernel setting their isolation layers need, every Secret
and volume referenced exists, and the Services' ports are the containers'.

kubeconform is not on PyPI or npm (and downloads its schemas at run time): these checks parse
the files themselves.
"""

from __future__ import annotations

import os
import pathlib
import posixpath
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from corral._settings import RunnerSettings, ServeSettings
from tests.deploy.manifests import (
    COMPOSE,
    KUBERNETES,
    ROOT,
    check_cli,
    compose_environment,
    corral_arguments,
    image_environment,
    interpolated_names,
    kubernetes_objects,
    load_compose,
    setting_names,
)

VARIABLES = {"CORRAL_POSTGRES_PASSWORD": "pw", "CORRAL_JOIN_SECRET": "join-secret-0123456789"}
ORCHESTRATORS = ("orchestrator-1", "orchestrator-2")
RUNNERS = ("runner-1", "runner-2")
TLS_FILES = {"ca.pem", "orchestrator.pem", "orchestrator-key.pem", "orchestrator-client.pem",
             "orchestrator-client-key.pem", "runner.pem", "runner-key.pem"}  # fmt: skip


def _settings_accept(
    settings: type[ServeSettings] | type[RunnerSettings],
    env: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The settings class reads ``env`` without a validation error."""
    with monkeypatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("CORRAL_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        settings()


def _option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


def _port(address: str) -> int:
    return int(address.rpartition(":")[2])


# --- compose.yaml ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(VARIABLES)


def test_compose_takes_its_secrets_from_the_environment_and_needs_them() -> None:
    assert interpolated_names() == set(VARIABLES)
    with pytest.raises(KeyError):
        load_compose({})


def test_compose_has_postgres_two_orchestrators_and_two_runners(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", *ORCHESTRATORS, *RUNNERS} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    for name in (*ORCHESTRATORS, *RUNNERS, "certs"):
        assert services[name]["image"] == "corral:latest"
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
        assert (COMPOSE.parent / services[name]["build"]["context"]).resolve() == ROOT
    for name in (*ORCHESTRATORS, *RUNNERS):
        assert "healthcheck" in services[name]


def test_compose_commands_and_health_checks_are_corral_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in (*ORCHESTRATORS, *RUNNERS):
        service = services[name]
        arguments = corral_arguments(service["command"])
        check_cli(arguments)
        health = corral_arguments(service["healthcheck"]["test"])
        assert health[0] == "health"
        context = check_cli(health)
        env = image_environment() | compose_environment(service)
        own_port = env["CORRAL_PORT"] if name in ORCHESTRATORS else _option(arguments, "--port")
        assert context.params["server"] == f"127.0.0.1:{own_port}"
        assert context.params["tls_ca"] == "/tls/ca.pem"
    assert corral_arguments(services["orchestrator-1"]["command"]) == ["serve"]
    script = services["certs"]["command"][0]
    assert "corral certs /tls" in script
    certs = script.partition("exec corral ")[2].split()
    check_cli(certs)
    for name in (*ORCHESTRATORS, *RUNNERS):
        assert name in certs  # every name the services dial each other by


def test_every_variable_of_compose_is_a_setting_with_a_valid_value(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = setting_names()
    assert set(image_environment()) - {"PATH"} <= known
    for name, service in compose["services"].items():
        env = compose_environment(service)
        if name == "postgres":
            assert set(env) <= {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}
            continue
        assert set(env) <= known, name
        settings = ServeSettings if name in ORCHESTRATORS else RunnerSettings
        _settings_accept(settings, image_environment() | env, monkeypatch)


def test_compose_orchestrators_share_postgres_and_take_joined_runners_over_tls(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ORCHESTRATORS:
        service = services[name]
        env = compose_environment(service)
        assert env["CORRAL_DATABASE_URL"] == "postgresql://corral:pw@postgres:5432/corral"
        assert env["CORRAL_RUNNERS"] == "0"
        assert env["CORRAL_JOIN_SECRET"] == VARIABLES["CORRAL_JOIN_SECRET"]
        for setting in ("CORRAL_TLS_CERT", "CORRAL_TLS_KEY", "CORRAL_TLS_CA",
                        "CORRAL_TLS_CLIENT_CERT", "CORRAL_TLS_CLIENT_KEY",
                        "CORRAL_RUNNER_TLS_CERT", "CORRAL_RUNNER_TLS_KEY"):  # fmt: skip
            assert posixpath.basename(env[setting]) in TLS_FILES
            assert _mounted(service, env[setting]), (name, setting)
        published = {str(port).rpartition(":")[2] for port in service["ports"]}
        assert published == {env["CORRAL_PORT"], str(_port(env["CORRAL_METRICS_ADDRESS"]))}
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert f"{name}-data" in {volume.partition(":")[0] for volume in service["volumes"]}
    assert set(compose["volumes"]) >= {"tls", "postgres-data", "orchestrator-1-data"}


def _mounted(service: Mapping[str, Any], path: str) -> bool:
    for volume in service.get("volumes", []):
        target = volume.split(":")[1]
        if path.startswith(target.rstrip("/") + "/"):
            return True
    return False


def test_compose_runners_join_with_a_secret_file_and_mutual_tls(compose: dict[str, Any]) -> None:
    services = compose["services"]
    callback_ports = {
        name: compose_environment(services[name])["CORRAL_CALLBACK_PORT"] for name in ORCHESTRATORS
    }
    for name in RUNNERS:
        service = services[name]
        arguments = corral_arguments(service["command"])
        host, _, port = _option(arguments, "--orchestrator").rpartition(":")
        assert callback_ports[host] == port
        assert _option(arguments, "--advertise") == f"{name}:{_option(arguments, '--port')}"
        for flag in ("--tls-ca", "--tls-cert", "--tls-key"):
            assert _mounted(service, _option(arguments, flag))
        env = compose_environment(service)
        assert "CORRAL_RUNNER_JOIN_SECRET" not in env  # refused: the secret is a file
        secret_file = env["CORRAL_RUNNER_JOIN_SECRET_FILE"]
        secret = posixpath.basename(secret_file)
        assert secret_file == f"/run/secrets/{secret}"
        assert secret in service["secrets"]
        assert compose["secrets"][secret] == {"environment": "CORRAL_JOIN_SECRET"}
        published = {str(p).rpartition(":")[2] for p in service["ports"]}
        assert published == {str(_port(_option(arguments, "--metrics-address")))}


def test_compose_runners_have_the_kernel_settings_of_every_isolation_layer(
    compose: dict[str, Any],
) -> None:
    # docs/security.md, "Containment in the image".
    for name in RUNNERS:
        service = compose["services"][name]
        assert service["user"] == "root"
        assert service["cap_add"] == ["SYS_ADMIN"]
        assert service["cgroup"] == "private"
        assert set(service["security_opt"]) == {"seccomp=unconfined", "apparmor=unconfined"}
        assert not service.get("privileged", False)  # no more than the layers need
        assert compose_environment(service)["CORRAL_RUNNER_STRICT_CONTAINMENT"] == "true"
        health = corral_arguments(service["healthcheck"]["test"])
        assert _option(health, "--service") == "corral.containment"
    for name in ORCHESTRATORS:
        assert "cap_add" not in compose["services"][name]


# --- kubernetes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def objects() -> list[tuple[pathlib.Path, dict[str, Any]]]:
    return list(kubernetes_objects())


def _workloads(objects: list[tuple[pathlib.Path, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {
        obj["metadata"]["labels"]["app.kubernetes.io/component"]: obj
        for _path, obj in objects
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}
    }


def _containers(workload: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield from workload["spec"]["template"]["spec"]["containers"]


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {item["name"]: str(item.get("value", "")) for item in container.get("env", [])}


def test_kubernetes_objects_are_well_formed(
    objects: list[tuple[pathlib.Path, dict[str, Any]]],
) -> None:
    kinds = {(obj["kind"], obj["metadata"]["name"]) for _path, obj in objects if "metadata" in obj}
    assert ("Deployment", "corral-orchestrator") in kinds
    assert ("StatefulSet", "corral-runner") in kinds
    assert {("Service", "corral"), ("Service", "corral-callbacks")} <= kinds
    for path, obj in objects:
        assert obj.get("apiVersion"), path
        assert obj.get("kind"), path
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}:
            spec = obj["spec"]
            selector = spec["selector"]["matchLabels"]
            labels = spec["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), path
            assert spec.get("replicas", 1) >= 2
    kustomization = next(obj for _p, obj in objects if obj["kind"] == "Kustomization")
    files = {path.name for path in KUBERNETES.glob("*.yaml")}
    assert set(kustomization["resources"]) <= files
    assert "secrets.example.yaml" not in kustomization["resources"]  # placeholders only


def test_kubernetes_commands_probes_and_variables_are_corral_s(
    objects: list[tuple[pathlib.Path, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = setting_names()
    for component, workload in _workloads(objects).items():
        for container in _containers(workload):
            assert container["image"] == "corral:latest"
            arguments = container["args"]
            check_cli(arguments)
            env = _env(container)
            derived = {  # Kubernetes' own (the pod's name), used in the arguments
                item["name"]
                for item in container.get("env", [])
                if "fieldRef" in item.get("valueFrom", {})
            }
            assert set(env) - derived <= known, component
            for name in derived:
                assert any(f"$({name})" in str(arg) for arg in arguments)
            settings = ServeSettings if component == "orchestrator" else RunnerSettings
            values = {k: v or "postgresql://u@h/d" for k, v in env.items() if k not in derived}
            _settings_accept(settings, values, monkeypatch)
            ports = {port["containerPort"] for port in container["ports"]}
            for probe in ("readinessProbe", "livenessProbe"):
                health = corral_arguments(container[probe]["exec"]["command"])
                assert health[0] == "health"
                context = check_cli(health)
                assert context.params["tls_ca"] == "/tls/ca.pem"
                assert _port(context.params["server"]) in ports
            if component == "runner":
                readiness = corral_arguments(container["readinessProbe"]["exec"]["command"])
                assert _option(readiness, "--service") == "corral.containment"


def test_kubernetes_orchestrators_use_postgres_from_a_secret_and_joined_runners(
    objects: list[tuple[pathlib.Path, dict[str, Any]]],
) -> None:
    (container,) = _containers(_workloads(objects)["orchestrator"])
    env = {item["name"]: item for item in container["env"]}
    assert env["CORRAL_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "corral-database"
    assert "secretKeyRef" in env["CORRAL_JOIN_SECRET"]["valueFrom"]
    assert env["CORRAL_RUNNERS"]["value"] == "0"
    assert env["CORRAL_CALLBACK_HOST"]["value"] == "0.0.0.0"  # noqa: S104


def test_kubernetes_runners_have_the_security_context_of_every_isolation_layer(
    objects: list[tuple[pathlib.Path, dict[str, Any]]],
) -> None:
    runner = _workloads(objects)["runner"]
    (container,) = _containers(runner)
    context = container["securityContext"]
    assert context["runAsUser"] == 0
    assert context["capabilities"]["add"] == ["SYS_ADMIN"]
    assert context["seccompProfile"] == {"type": "Unconfined"}
    assert context["appArmorProfile"] == {"type": "Unconfined"}
    assert context["allowPrivilegeEscalation"] is True  # Kubernetes' rule with CAP_SYS_ADMIN
    assert context["privileged"] is False
    assert _env(container)["CORRAL_RUNNER_STRICT_CONTAINMENT"] == "true"
    assert "CORRAL_RUNNER_JOIN_SECRET" not in _env(container)
    namespace = next(obj for _p, obj in objects if obj["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    # Orchestrators dial the address a runner advertises, which its certificate names: a
    # stable name from the headless Service of the StatefulSet.
    arguments = container["args"]
    service = runner["spec"]["serviceName"]
    assert (
        _option(arguments, "--advertise") == f"$(POD_NAME).{service}:{_option(arguments, '--port')}"
    )
    assert runner["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 60  # drains


def test_kubernetes_secrets_and_volumes_referenced_exist(
    objects: list[tuple[pathlib.Path, dict[str, Any]]],
) -> None:
    secrets = {
        obj["metadata"]["name"]: set(obj.get("stringData", {})) | set(obj.get("data", {}))
        for _path, obj in objects
        if obj["kind"] == "Secret"
    }
    assert secrets["corral-tls"] == TLS_FILES
    for component, workload in _workloads(objects).items():
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        for container in _containers(workload):
            for item in container.get("env", []):
                reference = item.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["key"] in secrets[reference["name"]], item
            mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
            files = [*_env(container).values(), *map(str, container["args"])]
            for probe in ("readinessProbe", "livenessProbe"):
                files += map(str, container[probe]["exec"]["command"])
            for value in files:
                folder, name = posixpath.split(value)
                if folder in mounts and "secret" in mounts[folder]:
                    secret = mounts[folder]["secret"]["secretName"]
                    assert name in secrets[secret], (component, value)
                elif value.startswith(("/tls", "/run/secrets")):
                    pytest.fail(f"{component}: {value} is on no mounted Secret")
            for mount in container["volumeMounts"]:
                volume = volumes[mount["name"]]
                if "secret" in volume:
                    assert volume["secret"]["secretName"] in secrets
                    assert mount.get("readOnly") is True
                    assert volume["secret"]["defaultMode"] == 0o400


def test_kubernetes_services_ports_are_the_containers(
    objects: list[tuple[pathlib.Path, dict[str, Any]]],
) -> None:
    workloads = list(_workloads(objects).values())
    runner_args = next(_containers(_workloads(objects)["runner"]))["args"]
    services = [obj for _p, obj in objects if obj["kind"] == "Service"]
    for service in services:
        selector = service["spec"]["selector"]
        (target,) = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        ports = {
            port["name"]: port["containerPort"]
            for container in _containers(target)
            for port in container["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, service["metadata"]["name"]
            assert port["port"] == ports[port["targetPort"]]
    # The runners join at a Service's port that is the orchestrators' callback port.
    host, _, port = _option(runner_args, "--orchestrator").rpartition(":")
    callbacks = next(s for s in services if s["metadata"]["name"] == host)
    assert int(port) in {p["port"] for p in callbacks["spec"]["ports"]}
    (orchestrator,) = _containers(_workloads(objects)["orchestrator"])
    assert _env(orchestrator)["CORRAL_CALLBACK_PORT"] == port
    assert _port(_env(orchestrator)["CORRAL_METRICS_ADDRESS"]) in {
        p["containerPort"] for p in orchestrator["ports"]
    }
