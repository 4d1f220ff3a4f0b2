"""A full disk under a real ``corral serve``: its data directory on a real tiny file system
(a 6 MiB tmpfs) filled to the last byte. A write is refused as ``storage_unavailable`` (reason
``disk_full``, with the data directory and what to do), nothing is half-written, reads go on,
and writes succeed again once there is room, with no restart."""

from __future__ import annotations

import json
import pathlib
import subprocess
from collections.abc import Iterator

import pytest

from corral.cli import Client
from corral.errors import Unavailable
from corral.v1 import orchestrator_pb2 as pb
from tests.support.service import running_service

PAD = "x" * 200_000
"""Metadata larger than the store's write-ahead log can take without growing."""


@pytest.fixture
def tiny_disk(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point)]
    mounted = subprocess.run(command, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(path: pathlib.Path) -> None:
    """Writes ``path`` until the file system has no byte left."""
    chunk = b"\0" * (64 << 10)
    with path.open("wb", buffering=0) as filler:
        for _ in range(1_000):  # 64 MiB at most: far more than the disk
            try:
                filler.write(chunk)
            except OSError:
                break
    with path.open("ab", buffering=0) as filler:  # and the last partial block
        for _ in range(64):
            try:
                filler.write(b"\0" * 1024)
            except OSError:
                break


def _connect(client: Client, connection_id: str) -> None:
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration="shop", connection_id=connection_id, metadata_json=json.dumps({"pad": PAD})
        ),
    )


def _connections(client: Client) -> list[str]:
    listed = client.call("ListConnections", pb.ListConnectionsRequest(integration="shop"))
    return sorted(connection.connection_id for connection in listed.connections)


def test_a_full_disk_is_storage_unavailable_and_passes_with_it(tiny_disk: pathlib.Path) -> None:
    with (
        running_service(tiny_disk) as service,
        Client(service.address, service.secret_key, timeout=30) as client,
    ):
        client.call(
            "CreateIntegration",
            pb.CreateIntegrationRequest(
                unique_key="shop", base_url="http://127.0.0.1:9", auth_mode="NONE"
            ),
        )
        _connect(client, "before")
        _fill(tiny_disk / "filler")
        refused: Unavailable | None = None
        added = []
        for number in range(30):
            try:
                _connect(client, f"c{number:02}")
            except Unavailable as exc:
                refused = exc
                break
            added.append(f"c{number:02}")
        assert refused is not None, "the disk never filled up"
        assert refused.code == "storage_unavailable"
        assert refused.details == {"reason": "disk_full", "data_dir": str(tiny_disk)}
        assert f"free space on the disk of {tiny_disk}" in refused.message
        assert refused.retryable
        assert _connections(client) == sorted(["before", *added])  # reads go on; none half-made

        (tiny_disk / "filler").unlink()
        _connect(client, "after")  # the same serve, no restart
        assert _connections(client) == sorted(["after", "before", *added])
    assert service.process.returncode == 0, service.stderr_path.read_text()[-2000:]
