"""Client commands: deploy, integrations, connections, trigger, runs, logs, records, variables,
runners (each group in a module of its own)."""

from __future__ import annotations

from corral.cli._deploy_command import deploy
from corral.cli._resource_commands import connection, integration, runners, variables
from corral.cli._run_commands import logs, records, runs, trigger

client_commands = [
    deploy,
    integration,
    connection,
    trigger,
    runs,
    logs,
    records,
    variables,
    runners,
]
