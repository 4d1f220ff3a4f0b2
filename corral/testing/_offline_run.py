"""Running a function offline, as ``corral dryrun`` and ``corral test`` do: for authors' pytest.

The production worker and sandbox run the function; its SDK calls go to the production callback
service over a scratch store (``OfflineCallbacks``), with HTTP answered from a recorded fixture::

    from corral.testing import check, dryrun_result

    result = dryrun_result(path / "issues.py", None, None, path / "issues.test.json")
    assert check("sync", json.loads(fixture.read_text()), result).ok

``offline_host`` keeps one runner host for many runs in a row.
"""

from __future__ import annotations

import json
import pathlib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from corral._budgets import Budgets
from corral._memory import bound_heap
from corral._providers import provider
from corral.errors import InvalidRequest

if TYPE_CHECKING:
    from corral.testing._offline_callbacks import OfflineCallbacks
    from runner import Job, Outcome, RunContext, RunnerHost

FixtureSource = pathlib.Path | Mapping[str, Any] | None
"""A fixture file, its parsed content, or none."""


@contextmanager
def offline_host(prewarm: int = 0) -> Iterator[RunnerHost]:
    """A runner host for offline runs (the production worker and sandbox), closed on exit.

    Args:
        prewarm: workers kept forked ahead of demand; worth it for several runs in a row.
    """
    from runner import RunnerHost, make_containment, warm  # noqa: PLC0415 - the heavy imports

    bound_heap()  # large responses go back to the system when freed (corral._memory)
    contain, _ = make_containment(strict=False)
    host = RunnerHost(contain, warm, prewarm=prewarm)
    try:
        yield host
    finally:
        host.close()


def read_files(folder: pathlib.Path) -> dict[str, str]:
    """The ``.py`` files of an integration folder, by name (what a deploy would send)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}


def run_context(integration: str, variant: str = "base") -> RunContext:
    """The context of an offline run: the variant, debug logs, the provider's paging defaults.

    The provider is looked up by the integration's name (the folder's name, as the seeds' test
    mock does); an unknown provider has no defaults.
    """
    from runner import RunContext  # noqa: PLC0415 - the runner is imported on use

    known = provider(integration)
    defaults = dict(known.paginate) if known is not None else {}
    return RunContext(variant=variant, log_level="debug", paginate_defaults=defaults)


def _fixture(source: FixtureSource) -> Mapping[str, Any] | None:
    if isinstance(source, pathlib.Path):
        content = json.loads(source.read_text(encoding="utf-8"))
        if not isinstance(content, dict):
            raise InvalidRequest(f"fixture {source} is not a JSON object", code="invalid_fixture")
        return content
    return source


def dryrun_result(
    path: pathlib.Path,
    input_value: Any,
    metadata: Any,
    fixture_path: FixtureSource,
    checkpoint: Any = None,
    variant: str = "base",
    *,
    host: RunnerHost | None = None,
    integration: str | None = None,
    budgets: Budgets | None = None,
) -> dict[str, Any]:
    """Runs the function file at ``path`` offline; returns the result object that is printed.

    Args:
        path: the function's file; its folder's ``.py`` files are the integration's files.
        input_value: the action's input (None: the fixture's ``input``).
        metadata: the connection's metadata (None: the fixture's ``getMetadata``).
        fixture_path: recorded responses (a ``*.test.json`` file or its parsed content).
        checkpoint: the checkpoint the run starts from (None: a first run).
        variant: the sync variant.
        host: a runner host to run in (for many runs in a row); None: a host for this run.
        integration: the provider whose paging defaults apply (None: the folder's name).
        budgets: the run's budgets (None: the defaults of the ``budgets`` setting).

    Raises:
        InvalidRequest: a fixture file that is not a JSON object.
        ValueError: a fixture file that is not JSON.
    """
    from corral.testing._fixtures import Fixture  # noqa: PLC0415
    from corral.testing._offline_callbacks import OfflineCallbacks  # noqa: PLC0415

    content = _fixture(fixture_path)
    fixture = Fixture(content) if content is not None else None
    if input_value is None and content is not None:
        input_value = content.get("input")
    name = integration or path.resolve().parent.name
    job = _job(path, input_value, run_context(name, variant))
    handler = OfflineCallbacks(
        fixture,
        metadata if isinstance(metadata, dict) else None,
        checkpoint,
        budgets=budgets,
        variant=variant,
        integration=name,
    )
    try:
        if host is not None:
            outcome = host.execute(job, handler)
        else:
            with offline_host() as own:
                outcome = own.execute(job, handler)
        return _result(outcome, handler)
    finally:
        handler.close()


def _job(path: pathlib.Path, input_value: Any, context: RunContext) -> Job:
    from runner import Job  # noqa: PLC0415

    return Job(
        run_id="dryrun-" + uuid.uuid4().hex[:12],
        kind="",
        function_name=path.stem,
        entry=path.name,
        files=read_files(path.parent),
        input=input_value,
        context=context,
    )


def _result(outcome: Outcome, handler: OfflineCallbacks) -> dict[str, Any]:
    # Past a per-run budget the run has failed, even when the function caught the error.
    failure = handler.failure
    error = outcome.error if failure is None else failure
    return {
        "ok": outcome.ok and failure is None,
        "output": outcome.output if failure is None else None,
        "records": handler.records,
        "deleted": handler.deleted,
        "logs": handler.logs,
        "logs_dropped": handler.logs_dropped,
        "error": error,
    }
