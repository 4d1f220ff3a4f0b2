"""``corral.testing`` as an author uses it from pytest: run a function offline against its
recorded fixture and judge the result, with nothing but the public names."""

from __future__ import annotations

import json
import pathlib

from corral import testing

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"


def test_a_sync_runs_offline_and_matches_its_fixture() -> None:
    fixture_path = EXAMPLES / "asana" / "tasks.test.json"
    result = testing.dryrun_result(EXAMPLES / "asana" / "tasks.py", None, None, fixture_path)
    assert result["ok"], result["error"]
    verdict = testing.check("sync", json.loads(fixture_path.read_text()), result)
    assert verdict.ok, "\n".join(testing.render(verdict))


def test_one_host_serves_several_runs_and_a_changed_fixture_fails_the_check() -> None:
    fixture_path = EXAMPLES / "asana" / "tasks.test.json"
    content = json.loads(fixture_path.read_text())
    with testing.offline_host(prewarm=1) as host:
        first = testing.dryrun_result(
            EXAMPLES / "asana" / "tasks.py", None, None, content, host=host
        )
        second = testing.dryrun_result(
            EXAMPLES / "asana" / "tasks.py", None, None, content, host=host
        )
    assert first["records"] == second["records"]
    assert first["records"], "the sync saved nothing"
    model = next(iter(first["records"]))
    first["records"][model] = first["records"][model][1:]
    verdict = testing.check("sync", content, first)
    assert not verdict.ok
    assert testing.render(verdict)
