"""Running function code through the real runner host, worker and sandbox, with scripted SDK
answers: the SDK's semantics without an orchestrator."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from corral.errors import RunFailure
from runner._context import RunContext
from runner.host._host import Job, Outcome, RunnerHost
from tests.runner.by_method import ByMethod

Answer = Callable[[dict[str, Any]], Any]


class Scripted(ByMethod):
    """A callback handler: records every SDK call, answers from ``answers``.

    An answer is a value, or a function of the call's arguments (which may raise a
    CorralError, as the orchestrator would).
    """

    def __init__(self, answers: Mapping[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Any] = dict(answers or {})

    def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        """Records the call and answers it."""
        del deadline
        self.calls.append((method, args))
        answer = self.answers.get(method)
        return answer(args) if callable(answer) else answer

    def args_of(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of ``method``, in order."""
        return [args for name, args in self.calls if name == method]


def http_reply(
    status: int = 200, body: Any = None, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A ``proxy`` call's answer: JSON body, status and headers."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    pairs = [["content-type", "application/json"], *[[k, v] for k, v in (headers or {}).items()]]
    return {
        "status": status,
        "headers": pairs,
        "body": data,
        "url": "https://api.example.com/x",
        "method": "GET",
    }


def failing(code: str, message: str = "failed", payload: Any = None) -> Answer:
    """An answer that raises the typed error the orchestrator would."""

    def answer(args: dict[str, Any]) -> Any:
        del args
        raise RunFailure(code, message, payload=payload)

    return answer


def run(
    host: RunnerHost,
    files: Mapping[str, str],
    handler: Scripted | None = None,
    *,
    kind: str = "action",
    entry: str = "",
    input_value: Any = None,
    context: RunContext | None = None,
    mode: str = "run",
) -> Outcome:
    """Runs ``entry`` (default: the first file) of ``files`` in a fresh worker."""
    name = entry or next(iter(files))
    job = Job(
        run_id=f"r-{os.urandom(4).hex()}",
        kind=kind,
        function_name=name.removesuffix(".py"),
        entry=name,
        files=dict(files),
        input=input_value,
        context=context or RunContext(),
        wall_seconds=30,
        mode=mode,
    )
    return host.execute(job, handler or Scripted())


def error_of(outcome: Outcome) -> dict[str, Any]:
    """The error of a failed outcome (fails the test if it succeeded)."""
    assert not outcome.ok, outcome.output
    assert outcome.error is not None
    return dict(outcome.error)
