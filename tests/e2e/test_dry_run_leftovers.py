"""A dry run's scratch store lives in the data dir's runtime folder: kill -9 of `corral serve`
during a dry run leaves nothing in the system temp folder, and the next start clears it."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import tempfile
import threading
from collections.abc import Iterator

import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.support.fake_api import FakeApi, running_hanging_api
from tests.support.processes import wait_for
from tests.support.service import running_service

SYNC = """
from nango import create_sync

def fetch(nango):
    nango.batch_save([{'id': 'a'}], 'Item')
    nango.get(endpoint='/hang')

sync = create_sync(description='items', frequency='every hour', exec=fetch)
"""


@pytest.fixture
def hanging_api() -> Iterator[FakeApi]:
    """An upstream whose ``/hang`` answers only when the test ends."""
    with running_hanging_api() as api:
        yield api


def _scratch_stores(folder: pathlib.Path) -> set[pathlib.Path]:
    return set(folder.glob("corral-scratch-*")) if folder.is_dir() else set()


def test_kill_9_during_a_dry_run_leaves_no_scratch_store_behind(
    tmp_path: pathlib.Path, hanging_api: FakeApi
) -> None:
    data_dir = tmp_path / "data"
    scratch = data_dir / "runtime" / "scratch"
    in_temp = _scratch_stores(pathlib.Path(tempfile.gettempdir()))
    with running_service(data_dir) as service:
        client = Client(service.address, service.secret_key, timeout=60)
        client.call(
            "CreateIntegration",
            pb.CreateIntegrationRequest(unique_key="shop", base_url=hanging_api.url),
        )
        client.call(
            "CreateConnection", pb.CreateConnectionRequest(integration="shop", connection_id="c")
        )
        request = pb.DryRunRequest(connection_id="c", files={"items.py": SYNC}, entry="items.py")

        def dry_run() -> None:
            with contextlib.suppress(CorralError):
                for _ in client.stream("DryRun", request, timeout=60):
                    pass

        streaming = threading.Thread(target=dry_run, daemon=True)
        streaming.start()
        # The run saved a record (in its scratch store) and waits on the upstream.
        assert wait_for(lambda: any(seen.path == "/hang" for seen in hanging_api.seen), 30)
        (store,) = _scratch_stores(scratch)
        assert (store / "scratch.db").exists()
        assert _scratch_stores(pathlib.Path(tempfile.gettempdir())) == in_temp
        os.kill(service.process.pid, signal.SIGKILL)
        service.process.wait(timeout=10)
        streaming.join(timeout=30)
        client.close()
        assert store.exists()  # nobody could remove it
    with running_service(data_dir) as again:
        assert again.process.poll() is None
        assert not store.exists()
        assert _scratch_stores(scratch) == set()
    assert not (data_dir / "runtime").exists()
