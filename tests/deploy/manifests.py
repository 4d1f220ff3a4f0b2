"""Reading the deployment files (deploy/compose.yaml, deploy/kubernetes/, the Dockerfile) and
checking them against corral's command line and settings, for the tests of tests/deploy/."""

from __future__ import annotations

import os
import pathlib
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click
import yaml

from corral._settings import ClientSettings, RunnerSettings, ServeSettings
from corral.cli import cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
KUBERNETES = ROOT / "deploy" / "kubernetes"

_INTERPOLATION = re.compile(r"\$\{(\w+)(?::\?[^}]*)?\}")


def setting_names() -> set[str]:
    """Every environment variable corral reads as a setting (CORRAL_...)."""
    names: set[str] = set()
    for settings in (ServeSettings, ClientSettings):
        prefix = str(settings.model_config.get("env_prefix", ""))
        names |= {prefix + field.upper() for field in settings.model_fields}
    return names | set(RunnerSettings.variables().values())


def load_compose(variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    """deploy/compose.yaml, with ``${NAME}`` and ``${NAME:?message}`` replaced by
    ``variables`` (as `docker compose` does from its environment; a missing one is an error)."""
    text = COMPOSE.read_text()
    if variables is not None:

        def value(match: re.Match[str]) -> str:
            if match.group(1) not in variables:
                raise KeyError(f"compose.yaml needs ${{{match.group(1)}}}")
            return variables[match.group(1)]

        text = _INTERPOLATION.sub(value, text)
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def interpolated_names() -> set[str]:
    """The variables compose.yaml takes from `docker compose`'s environment."""
    return {match.group(1) for match in _INTERPOLATION.finditer(COMPOSE.read_text())}


def kubernetes_objects() -> Iterator[tuple[pathlib.Path, dict[str, Any]]]:
    """Every object of every YAML file of deploy/kubernetes/, with its file."""
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                yield path, document


def image_environment() -> dict[str, str]:
    """The Dockerfile's ``ENV`` of the final image (every container starts with it)."""
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    final = [line for line in lines if not line.startswith("#")]
    start = max(i for i, line in enumerate(final) if line.startswith("FROM "))
    env: dict[str, str] = {}
    for line in final[start:]:
        if line.startswith("ENV "):
            for word in shlex.split(line[4:]):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def compose_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's ``environment`` (a mapping or a NAME=VALUE list) as strings."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(str(item).partition("=")[::2] for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


def corral_arguments(command: Sequence[str]) -> list[str]:
    """The arguments of ``corral`` in a container command: the image's entry point runs
    ``corral ARGS`` (``["serve"]``), a health check or probe runs ``corral ARGS`` itself."""
    words = [str(word) for word in command]
    if words and words[0] == "CMD":
        words = words[1:]
    if words and words[0] == "corral":
        words = words[1:]
    return words


def check_cli(arguments: Sequence[str]) -> click.Context:
    """Parses ``corral ARGUMENTS`` as the command line would (every option must exist, every
    value must have its type) without running it; raises click's error otherwise."""
    name, *rest = arguments
    command = cli.get_command(click.Context(cli), name)
    if command is None:
        raise click.UsageError(f"no corral command {name!r}")
    previous = dict(os.environ)
    try:
        # Options fall back on CORRAL_* variables: parse with none of this process's.
        for key in [key for key in os.environ if key.startswith("CORRAL_")]:
            del os.environ[key]
        return command.make_context(name, list(rest))
    finally:
        os.environ.clear()
        os.environ.update(previous)
