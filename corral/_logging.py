"""structlog, configured once per process: JSON lines, or a console renderer on a terminal."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

import structlog


def configure(fmt: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Configures structlog for this process.

    Args:
        fmt: "json", "console", or "auto" (console on a terminal, JSON otherwise).
        level: the lowest level logged.
        stream: where log lines go (standard error by default).
    """
    out = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


@contextlib.contextmanager
def run_log_context(run_id: str, environment: str, connection: str = "") -> Iterator[None]:
    """Binds a run's ``run_id``, ``environment`` and ``connection`` to structlog's contextvars
    for the block, so every log line written in it carries them (unbound after; whatever was
    bound before stays)."""
    with structlog.contextvars.bound_contextvars(
        run_id=run_id, environment=environment, connection=connection
    ):
        yield
