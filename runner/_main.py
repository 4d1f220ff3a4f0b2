"""``corral runner``: a runner host process (the warm parent first, then the gRPC server).

The warm parent (a fresh interpreter) is started before this process imports gRPC: what it
serves with is ``runner._serving``'s, imported once the host is made.
"""

from __future__ import annotations

import pathlib
import threading
from typing import Any

import structlog

from corral import _logging
from corral._listen import check_listen_address
from corral._memory import bound_heap
from corral._process import die_with_parent
from corral._runner_settings import RunnerSettings
from corral._setting_checks import join_secret
from corral.errors import InvalidRequest
from runner.host._containment import Containment, make_containment
from runner.host._host import RunnerHost
from runner.host._warm import warm
from sandbox import ContainmentError

_log = structlog.get_logger("corral.runner")

EXIT_CONTAINMENT = 78
"""Exit status of a strict runner on a host that lacks an isolation layer (EX_CONFIG)."""
EXIT_WARM_PARENT_LOST = 75
"""Exit status of a runner whose warm parent died (EX_TEMPFAIL): ``serve`` starts it again."""
WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})  # noqa: S104 - names, not a bind
"""Listen addresses that are not an address to dial."""
EXIT_JOIN_REFUSED = 77
"""Exit status of a runner the orchestrator refused to let join (EX_NOPERM)."""


def run_runner(
    settings: RunnerSettings,
    port_file: pathlib.Path | None,
    log_format: str = "auto",
    parent_pid: int | None = None,
    log_level: str = "info",
    *,
    own_process: bool = False,
) -> None:
    """Serves the Runner API until SIGTERM or SIGINT (or until ``parent_pid`` dies: SIGKILL).

    ``own_process``: the process is the runner host's alone (``corral runner``): once started,
    its heap is left out of the garbage collector's passes (``corral._memory.freeze_heap``).
    """
    contain, layers = _prepare(settings, log_format, parent_pid, log_level)
    stop = threading.Event()
    lost = threading.Event()

    def warm_parent_lost() -> None:
        _log.error("warm parent died; the runner stops so that it is started again")
        lost.set()
        stop.set()

    # The warm parent (a fresh interpreter: runner/host/_fresh_parent.py) is started before
    # this process imports gRPC, so that its start-up overlaps the server's.
    host = RunnerHost(contain, warm, settings.prewarm_workers, layers, on_lost=warm_parent_lost)
    from runner._serving import serve  # noqa: PLC0415 - gRPC, once the warm parent is started

    serve(settings, host, layers, port_file, own_process=own_process, stop=stop, lost=lost)


def _prepare(
    settings: RunnerSettings, log_format: str, parent_pid: int | None, log_level: str
) -> tuple[Containment, dict[str, Any]]:
    """The process set up before anything is served: tied to its parent, logging, its
    addresses checked, the heap bounded; the workers' containment and its layers' report.

    Raises:
        SystemExit: ``EXIT_CONTAINMENT``, the containment this host requires is not there.
    """
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _logging.configure(log_format, log_level)
    _check_addresses(settings)
    try:
        contain, layers = make_containment(settings.strict_containment)
    except ContainmentError as err:
        _log.error("runner refused to start", reason=err.message)
        raise SystemExit(EXIT_CONTAINMENT) from None
    bound_heap()  # large responses go back to the system when freed (corral._memory)
    return contain, layers


def _check_addresses(settings: RunnerSettings) -> None:
    """The runner can listen where it is told, and orchestrators can dial what it tells.

    Raises:
        InvalidRequest: ``invalid_setting``.
        Unavailable: ``address_in_use``.
    """
    check_listen_address(settings.host, settings.port, "CORRAL_RUNNER_HOST", "CORRAL_RUNNER_PORT")
    if settings.metrics_address:
        from runner._metrics import check_address  # noqa: PLC0415 - prometheus_client when on

        check_address(settings.metrics_address)
    if settings.orchestrator and not settings.advertise and settings.host in WILDCARDS:
        raise InvalidRequest(
            f"CORRAL_RUNNER_ADVERTISE (or --advertise) is needed: the runner listens on"
            f" {settings.host}, which orchestrators cannot dial; give the host:port they reach",
            code="invalid_setting",
        )


def read_join_secret(path: pathlib.Path | None) -> str:
    """The join secret in ``path`` (surrounding white space ignored).

    Raises:
        InvalidRequest: ``invalid_setting``, naming CORRAL_RUNNER_JOIN_SECRET_FILE: no file, it
            cannot be read, or what it holds is not a join secret (never repeated).
    """
    name = "CORRAL_RUNNER_JOIN_SECRET_FILE"
    if path is None:
        raise InvalidRequest(f"{name} is needed to join an orchestrator", code="invalid_setting")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not ASCII text"
        raise InvalidRequest(
            f"{name}: {path} cannot be read: {reason}", code="invalid_setting"
        ) from None
    if not text:
        raise InvalidRequest(f"{name}: {path} is empty", code="invalid_setting")
    try:
        return join_secret(text)
    except ValueError as exc:
        raise InvalidRequest(f"{name}: {path}: {exc}", code="invalid_setting") from None
