"""Testing functions against recorded fixtures: for ``corral test``, and for authors in pytest.

A fixture is a ``*.test.json`` file in the seeds' format (shared/fixtures/FORMAT.md): the API
exchanges a function made, with the sha1 hash of each request's identity (computed with
JavaScript's ``JSON.stringify`` rules, as the recorder does), and the result it produced::

    from corral.testing import Fixture, check, render

    fixture = Fixture(json.loads(path.read_text()))
    entry = fixture.lookup("get", "/v1/issues", {"page": "2"}, {}, None)  # a recorded exchange
    verdict = check("sync", fixture.content, result)  # result: what ``corral dryrun`` prints
    assert verdict.ok, "\\n".join(render(verdict))
"""

from corral.testing._fixtures import (
    Fixture,
    Identity,
    NoRecordedResponse,
    data_identity,
    identity,
)
from corral.testing._jsjson import js_number, js_string, stringify, utf16_length
from corral.testing._offline_callbacks import OfflineCallbacks
from corral.testing._offline_run import dryrun_result, offline_host, read_files, run_context
from corral.testing._verdict import (
    ABSENT,
    Difference,
    Verdict,
    check,
    check_action,
    check_sync,
    differences,
    fixture_problem,
    json_equal,
    render,
    run_error,
)

__all__ = [
    "ABSENT",
    "Difference",
    "Fixture",
    "Identity",
    "NoRecordedResponse",
    "OfflineCallbacks",
    "Verdict",
    "check",
    "check_action",
    "check_sync",
    "data_identity",
    "differences",
    "dryrun_result",
    "fixture_problem",
    "identity",
    "js_number",
    "js_string",
    "json_equal",
    "offline_host",
    "read_files",
    "render",
    "run_context",
    "run_error",
    "stringify",
    "utf16_length",
]
