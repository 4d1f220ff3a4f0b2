"""A stand-in for the ``grpc.ServicerContext`` the callback service reads: a run token only."""

from __future__ import annotations


class Context:
    """The parts of a grpc.ServicerContext the service reads."""

    def __init__(self, token: str) -> None:
        self.token = token

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-corral-run-token", self.token),)

    def time_remaining(self) -> float | None:
        return None
