"""Names in gRPC call metadata that more than one component reads."""

RUN_TOKEN = "x-corral-run-token"  # noqa: S105 - the name of the header, not a token
"""The run token of a RunnerCallbacks call."""

AUTHORIZATION = "authorization"
"""``Bearer <secret key>`` on Orchestrator calls."""

JOIN_SECRET = "x-corral-join-secret"  # noqa: S105 - the name of the header, not a secret
"""The fleet's join secret on a RunnerFleet call (``corral runner --orchestrator``)."""
