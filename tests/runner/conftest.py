"""A runner host shared by the SDK tests of this folder (the real worker and sandbox)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner.host._host import RunnerHost
from runner.host._warm import warm


@pytest.fixture(scope="session")
def sdk_host() -> Iterator[RunnerHost]:
    from runner.host._containment import make_containment  # noqa: PLC0415

    contain, layers = make_containment(strict=False)
    host = RunnerHost(contain, warm, prewarm=1, layers=layers)
    yield host
    host.close()
