"""``CORRAL_LOG_LEVEL`` of a real ``corral serve``: the level names of ``env settings`` in any
case, for the orchestrator and the runners it starts; ``off`` silences the service log."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from tests.support.service import running_service


def _log_lines(stderr_path: pathlib.Path) -> list[dict[str, Any]]:
    lines = []
    for text in stderr_path.read_text().splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and "level" in line:
            lines.append(line)
    return lines


def _serve_and_stop(data_dir: pathlib.Path, level: str) -> list[dict[str, Any]]:
    with running_service(data_dir, CORRAL_LOG_LEVEL=level) as service:
        pass
    assert service.process.returncode == 0, service.stderr_path.read_text()[-2000:]
    return _log_lines(service.stderr_path)


def test_a_level_in_any_case_applies_to_the_orchestrator_and_its_runners(
    tmp_path: pathlib.Path,
) -> None:
    shown = _serve_and_stop(tmp_path / "info", "Info")
    events = {line["event"] for line in shown}
    assert {"orchestrator started", "orchestrator stopped", "runner stopping"} <= events

    quiet = _serve_and_stop(tmp_path / "warn", "WARN")
    assert all(line["level"] not in ("debug", "info") for line in quiet), quiet


@pytest.mark.parametrize("level", ["off", "OFF"])
def test_off_silences_the_service_log(tmp_path: pathlib.Path, level: str) -> None:
    assert _serve_and_stop(tmp_path / "data", level) == []
