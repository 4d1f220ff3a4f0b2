"""The ``corral`` command and the author tooling: the top layer, above every other package.

Operators' commands (``serve``, ``runner``, ``env``, ``health``), the API client commands
(deploy, trigger, runs, logs, records, schedules, webhooks) and the authors' commands
(``init``, ``new``, ``compile``, ``test``, ``dryrun``). Nothing below imports this package; it
uses only the public names (``__all__``) of ``sandbox``, ``runner`` and ``orchestrator``.

``cli`` and ``Client`` are imported on first use (PEP 562), and ``main`` runs ``corral runner``
without importing the other commands: a runner host holds only what it serves with.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from corral._lazy import lazy_exports

if TYPE_CHECKING:
    from corral.cli._api_client import Client
    from corral.cli._main import cli

__all__ = ["Client", "cli", "main"]

_WHERE = {"Client": "corral.cli._api_client", "cli": "corral.cli._main"}
"""The module of each name imported on first use."""


def main() -> None:
    """Entry point of the console script (and of ``python -m corral``): an exception no command
    turned into a typed error is printed as one (``corral.cli._output.unexpected``), never as
    a traceback."""
    try:
        if sys.argv[1:2] == ["runner"]:
            from corral.cli._runner_command import main_alone  # noqa: PLC0415

            main_alone(sys.argv[2:])
            return
        from corral.cli._main import main as main_all  # noqa: PLC0415

        main_all()
    except Exception as exc:  # the last resort: typed, instead of a traceback
        from corral.cli._output import unexpected  # noqa: PLC0415

        unexpected(exc)


__getattr__ = lazy_exports(__name__, _WHERE)
