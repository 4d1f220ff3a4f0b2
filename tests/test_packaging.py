"""The wheel (what the Dockerfile installs) carries the data files corral reads at run time."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCKER_COPIES = [
    "pyproject.toml",
    "README.md",
    "corral",
    "orchestrator",
    "runner",
    "sandbox",
    "nango-stubs",
]


def test_the_dockerfile_copies_what_the_wheel_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name in DOCKER_COPIES[2:]:
        assert f"COPY {name} ./{name}" in dockerfile, name


def test_the_wheel_has_migrations_catalogue_stubs_and_markers(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in DOCKER_COPIES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, capture_output=True,
                   timeout=240)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("corral-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "orchestrator/storage/migrations/sqlite/0001_init.sql",
        "corral/providers.json",
        "nango-stubs/__init__.pyi",
        "sandbox/py.typed",
        "corral/v1/orchestrator_pb2.py",
    ):
        assert required in names, required
    assert any(n.endswith("entry_points.txt") for n in names)
