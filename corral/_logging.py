"""structlog, configured once per process: JSON lines, or a console renderer on a terminal."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

import structlog

LOG_LEVELS = ("debug", "info", "warn", "error", "off")
"""The level names, lowest first, of the service log (``CORRAL_LOG_LEVEL``) and of the
environment setting ``log_level``; ``off`` logs nothing."""

LEVEL_ALIASES = {"warning": "warn"}
"""Other names accepted for a level (the standard library's ``warning``)."""


def level_name(text: str) -> str:
    """The level named by ``text``, in any case, aliases resolved (one of ``LOG_LEVELS``).

    Raises:
        ValueError: ``text`` names no level; the message lists those that exist.
    """
    name = text.strip().lower()
    name = LEVEL_ALIASES.get(name, name)
    if name not in LOG_LEVELS:
        raise ValueError(
            f"expected one of {', '.join(LOG_LEVELS)} (any case; warning is the same as warn)"
        )
    return name


def _drop_everything(_logger: Any, _method: str, _event: Any) -> Any:
    raise structlog.DropEvent


def configure(fmt: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Configures structlog for this process.

    Args:
        fmt: "json", "console", or "auto" (console on a terminal, JSON otherwise).
        level: the lowest level logged, a name of ``LOG_LEVELS`` in any case (or an alias);
            ``off`` logs nothing.
        stream: where log lines go (standard error by default).
    """
    out = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    name = level_name(level)
    silence = [_drop_everything] if name == "off" else []
    minimum = {"warn": "warning", "off": "critical"}.get(name, name)
    structlog.configure(
        processors=[
            *silence,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(minimum.upper())),
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
