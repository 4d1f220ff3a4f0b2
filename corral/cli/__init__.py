"""The ``corral`` command and the author tooling: the top layer, above every other package.

Operators' commands (``serve``, ``runner``, ``env``, ``health``), the API client commands
(deploy, trigger, runs, logs, records, schedules, webhooks) and the authors' commands
(``init``, ``new``, ``compile``, ``test``, ``dryrun``). Nothing below imports this package; it
uses only the public names (``__all__``) of ``sandbox``, ``runner`` and ``orchestrator``.
"""

from corral.cli._api_client import Client
from corral.cli._main import cli, main

__all__ = ["Client", "cli", "main"]
