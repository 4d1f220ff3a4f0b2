"""Compiled programs kept by the runner host (``runner.host._compiled``): made by compile runs
that never run the function, loaded by later runs' workers, never taken from a run's output."""

from __future__ import annotations

import base64
import json
import marshal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

import sandbox
from runner.host._compiled import (
    MAX_PENDING,
    MAX_PROGRAM_BYTES,
    CompiledPrograms,
    checked_codes,
    program_key,
)
from runner.host._host import Job, RunnerHost
from runner.host._warm import warm
from runner.sdk._definitions import ActionDefinition
from runner.worker import _worker
from runner.worker._find_definition import SDK_MODULE, find_definition
from tests.runner.hostile import Answers, Scripted, frame, sends


@dataclass(frozen=True)
class _Files:
    entry: str
    files: Mapping[str, str] = field(default_factory=dict)
    scope: str = "env"


def _returns(value: object, name: str = "f.py") -> _Files:
    source = (
        "from nango import create_action\n"
        "def run(nango, input):\n"
        f"    return {value!r}\n"
        "action = create_action(description='t', exec=run)\n"
    )
    return _Files(name, {name: source})


def _job(files: _Files, **limits: Any) -> Job:
    return Job(
        scope=files.scope,
        run_id=f"c-{time.monotonic_ns()}",
        kind="action",
        function_name="f",
        entry=files.entry,
        files=files.files,
        input={},
        **limits,
    )


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# The key and what a compile run may give


def test_the_key_covers_the_scope_the_entry_and_every_file_name_and_content() -> None:
    files = {"a.py": "x = 1", "b.py": "y = 2"}
    base = program_key("env", "a.py", files)
    assert program_key("env", "a.py", dict(files)) == base
    assert program_key("other-env", "a.py", files) != base
    assert program_key("env", "b.py", files) != base
    assert program_key("env", "a.py", {"a.py": "x = 1", "b.py": "y = 3"}) != base
    assert program_key("env", "a.py", {"a.py": "x = 1", "c.py": "y = 2"}) != base
    assert program_key("env", "a.py", {"a.py": "x = 1"}) != base
    # Names and contents cannot run into each other.
    assert program_key("e", "a", {"a": "bc"}) != program_key("e", "a", {"ab": "c"})
    assert program_key("ea", "", {}) != program_key("e", "a", {})


@pytest.mark.parametrize(
    "output",
    [
        None,
        "f.py",
        [],
        {},  # no entry
        {"f.py": "AA==", "other.py": "AA=="},  # a file not among the job's
        {"f.py": 1},
        {"f.py": "A" * (MAX_PROGRAM_BYTES + 1)},
    ],
)
def test_a_compile_output_that_is_not_the_jobs_compiled_files_is_refused(output: Any) -> None:
    assert checked_codes(output, _Files("f.py", {"f.py": "", "g.py": ""})) is None


def test_the_compiled_files_of_the_job_are_kept() -> None:
    output = {"f.py": "AA==", "g.py": "AQ=="}
    assert checked_codes(output, _Files("f.py", {"f.py": "", "g.py": ""})) == output


# The cache itself


class _Compiles:
    """A compile run that records its calls and answers from ``answer``."""

    def __init__(self, answer: Any = None) -> None:
        self.calls: list[str] = []
        self.answer = answer
        self.release = threading.Event()
        self.release.set()

    def __call__(self, job: Any) -> Any:
        self.release.wait(10)
        self.calls.append(job.entry)
        return self.answer if self.answer is not None else {job.entry: "AA=="}


@pytest.fixture
def programs() -> Iterator[tuple[CompiledPrograms, _Compiles]]:
    compiles = _Compiles()
    cache = CompiledPrograms(compiles, max_entries=2, max_bytes=10)
    yield cache, compiles
    cache.close()


def test_a_program_is_compiled_once_then_given_to_each_run(
    programs: tuple[CompiledPrograms, _Compiles],
) -> None:
    cache, compiles = programs
    compiles.release.clear()
    files = _Files("a.py", {"a.py": "1"})
    assert cache.codes_for(files) is None
    assert cache.codes_for(files) is None  # already asked for: one compile run
    compiles.release.set()
    _wait_for(lambda: cache.codes_for(files) is not None)
    assert cache.codes_for(files) == {"a.py": "AA=="}
    assert compiles.calls == ["a.py"]


def test_a_failed_compile_run_is_not_asked_for_again() -> None:
    compiles = _Compiles(answer={"not-the-entry.py": "AA=="})
    cache = CompiledPrograms(compiles)
    try:
        files = _Files("a.py", {"a.py": "1"})
        assert cache.codes_for(files) is None
        _wait_for(lambda: len(compiles.calls) == 1)
        time.sleep(0.05)
        assert cache.codes_for(files) is None
        time.sleep(0.05)
        assert compiles.calls == ["a.py"]
        assert len(cache) == 0
    finally:
        cache.close()


def test_the_least_recently_used_program_goes_first(
    programs: tuple[CompiledPrograms, _Compiles],
) -> None:
    cache, _ = programs  # two programs, ten bytes at most
    first, second, third = (_Files(f"{n}.py", {f"{n}.py": n}) for n in "abc")
    for files in (first, second):
        cache.codes_for(files)
        _wait_for(lambda f=files: cache.codes_for(f) is not None)  # type: ignore[misc]
    assert cache.codes_for(first) is not None  # now the most recently used
    cache.codes_for(third)
    _wait_for(lambda: cache.codes_for(third) is not None)
    assert cache.codes_for(first) is not None
    assert len(cache) == 2
    assert cache.codes_for(second) is None  # dropped (and asked for again)


def test_the_bytes_kept_are_bounded() -> None:
    compiles = _Compiles(answer=None)
    cache = CompiledPrograms(compiles, max_entries=100, max_bytes=9)  # two 4-byte programs
    try:
        for n in "abc":
            files = _Files(f"{n}.py", {f"{n}.py": n})
            cache.codes_for(files)
            _wait_for(lambda f=files: cache.codes_for(f) is not None)  # type: ignore[misc]
        assert len(cache) == 2
    finally:
        cache.close()


# Through a real host, worker and sandbox


@pytest.fixture
def host(sdk_host: RunnerHost) -> RunnerHost:
    """The folder's shared host (tests/runner/conftest.py): its programs are kept by scope and
    files, and these tests' are their own."""
    return sdk_host


def _kept(host: RunnerHost, files: _Files) -> dict[str, str] | None:
    return host._compiled.codes_for(files)


def test_later_runs_load_the_program_a_compile_run_made(host: RunnerHost) -> None:
    files = _returns("first")
    first = host.execute(_job(files), Answers())
    assert first.ok, first.error
    assert first.output == "first"
    _wait_for(lambda: _kept(host, files) is not None)
    # The cached code is what later workers run: code compiled from another source, kept
    # under this program's key, is what the next run returns.
    forged = _compiled_as_sent(_returns("from the cache"))
    host._compiled._entries[program_key(files.scope, files.entry, files.files)] = forged
    second = host.execute(_job(files), Answers())
    assert second.ok, second.error
    assert second.output == "from the cache"


def test_a_compile_run_never_runs_the_function(host: RunnerHost) -> None:
    # Its module body never ends: the run times out, the compile run still finishes.
    source = "from nango import create_action\nwhile True:\n    pass\n"
    files = _Files("loop.py", {"loop.py": source})
    outcome = host.execute(_job(files, wall_seconds=1.0), Answers())
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error["type"] == "execution_timeout"
    _wait_for(lambda: _kept(host, files) is not None)


def test_the_guards_hold_in_loaded_code(host: RunnerHost) -> None:
    source = (
        "from nango import create_action\n"
        "def run(nango, input):\n"
        "    return getattr(input, '__cla' + 'ss__')\n"
        "action = create_action(description='t', exec=run)\n"
    )
    files = _Files("g.py", {"g.py": source})
    for _ in range(2):  # compiled in its worker, then loaded from the cache
        outcome = host.execute(_job(files), Answers())
        assert not outcome.ok
        assert outcome.error is not None
        assert outcome.error["type"] == "sandbox_violation"
        _wait_for(lambda: _kept(host, files) is not None)


def test_a_function_that_does_not_compile_is_not_kept(host: RunnerHost) -> None:
    files = _Files("bad.py", {"bad.py": "def run(:\n"})
    for _ in range(2):
        outcome = host.execute(_job(files), Answers())
        assert not outcome.ok
        assert outcome.error is not None
        assert outcome.error["type"] == "compile_error"
    time.sleep(0.2)
    assert _kept(host, files) is None


@pytest.mark.parametrize(
    "codes",
    [
        {"f.py": "not base64!"},
        {"f.py": base64.b64encode(b"\x00garbage").decode()},
        {"f.py": base64.b64encode(marshal.dumps(42)).decode()},
        {"f.py": base64.b64encode(marshal.dumps(compile("1", "other.py", "exec"))).decode()},
    ],
    ids=["not-base64", "not-marshal", "not-code", "another-file"],
)
def test_compiled_files_that_do_not_load_are_compiled_again(
    host: RunnerHost, codes: dict[str, str]
) -> None:
    files = _returns(f"compiled again {sorted(codes)}")
    host._compiled._entries[program_key(files.scope, files.entry, files.files)] = codes
    outcome = host.execute(_job(files), Answers())
    assert outcome.ok, outcome.error
    assert outcome.output == f"compiled again {sorted(codes)}"


def test_a_program_is_never_shared_across_environments(host: RunnerHost) -> None:
    mine = _returns("shared source")
    theirs = _Files(mine.entry, mine.files, scope="another-env")
    assert host.execute(_job(mine), Answers()).ok
    _wait_for(lambda: _kept(host, mine) is not None)
    assert _kept(host, theirs) is None  # compiled again for the other environment


def test_a_runs_output_never_fills_the_cache(host: RunnerHost) -> None:
    # A run's worker runs the function and may be breached: whatever it returns, even the
    # shape of compiled files, is its output and nothing more.
    forged = _compiled_as_sent(_returns("forged"))
    files = _returns(forged, name="f.py")
    before = host._compiled._entries.copy()
    outcome = host.execute(_job(files), Answers())
    assert outcome.ok, outcome.error
    assert outcome.output == forged
    _wait_for(lambda: _kept(host, files) is not None)
    kept = _kept(host, files)
    assert kept is not None
    assert kept != forged  # what the compile run made of these files
    assert all(host._compiled._entries.get(k) == v for k, v in before.items())


def test_a_breached_compile_worker_fills_nothing() -> None:
    # Every worker of this host plays the script, the compile run's worker too: a done frame
    # whose output is not the job's compiled files is dropped.
    junk = {"op": "done", "ok": True, "output": {"f.py": 7, "elsewhere.py": "AA=="}}
    runner_host = RunnerHost(Scripted(sends(frame(junk))), warm, prewarm=0)
    try:
        files = _returns("x")
        runner_host.execute(_job(files), Answers())
        time.sleep(0.5)
        assert len(runner_host._compiled) == 0
    finally:
        runner_host.close()


def _compiled_as_sent(files: _Files) -> dict[str, str]:
    """What a compile run of ``files`` answers (the worker's own encoding), through JSON."""
    program = sandbox.compile_program(files.files, files.entry)
    return dict(json.loads(json.dumps(_worker._encoded_codes(program))))


def test_a_worker_runs_the_compiled_files_it_is_given() -> None:
    # The worker's encoding and loading are one pair: code compiled from another source, given
    # for these files, is what the worker's program runs (not a compile of its own files).
    files = _returns("its own source")
    program = _worker._program(files.files, "f.py", _compiled_as_sent(_returns("given")))
    definition = find_definition(program.load(SDK_MODULE))
    assert isinstance(definition, ActionDefinition)
    assert definition.exec(None, {}) == "given"
    # Without them, or with ones that do not load, it compiles its own.
    for compiled in (None, {"f.py": "not base64!"}):
        own = _worker._program(files.files, "f.py", compiled)
        definition = find_definition(own.load(SDK_MODULE))
        assert isinstance(definition, ActionDefinition)
        assert definition.exec(None, {}) == "its own source"


def test_a_run_request_is_scoped_by_its_environment() -> None:
    from corral.v1 import common_pb2, runner_pb2  # noqa: PLC0415
    from runner._service import job_from_request  # noqa: PLC0415

    request = runner_pb2.RunRequest(
        run_id="r",
        kind=common_pb2.FUNCTION_KIND_ACTION,
        source=common_pb2.FunctionSource(entry="f.py", files={"f.py": ""}),
        input_json="{}",
        context=runner_pb2.RunContext(environment="prod"),
    )
    assert job_from_request(request).scope == "prod"


def test_programs_waiting_for_a_compile_run_are_bounded() -> None:
    # Runs with ever new files (a dry run's, say) cannot pile up compile runs or their files.
    compiles = _Compiles()
    compiles.release.clear()
    cache = CompiledPrograms(compiles)
    try:
        for n in range(MAX_PENDING + 5):
            assert cache.codes_for(_Files(f"{n}.py", {f"{n}.py": str(n)})) is None
        assert len(cache._pending) == MAX_PENDING
        compiles.release.set()
        _wait_for(lambda: len(compiles.calls) == MAX_PENDING)
        assert len(cache) == MAX_PENDING
    finally:
        cache.close()
