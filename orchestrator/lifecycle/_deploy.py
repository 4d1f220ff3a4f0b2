"""Deploying an integration's functions: describe them in a sandboxed worker, then store.

The orchestrator never compiles or executes customer code itself: a ``describe`` run in a
worker compiles every file under the sandbox policy, loads it, and reports the definitions.
On any error nothing is deployed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from corral import _json
from corral._error_shapes import from_proto
from corral.errors import CompileError, InvalidRequest, NotFound
from orchestrator.runs._caller import Caller
from orchestrator.runs._dispatch import Dispatcher, RunOrder
from orchestrator.runs._limits import limits_for
from orchestrator.storage._areas import Environment, FunctionRow
from orchestrator.storage._needs import DeployStorage

FILE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\.py")
INTEGRATION_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
MAX_FILES = 200
MAX_TOTAL_BYTES = 4 << 20


def check_integration_key(integration: str) -> str:
    """The integration key, if it is one: ASCII letters, digits, ``_ . -``, at most 100.

    Raises:
        InvalidRequest: code ``invalid_integration_key``.
    """
    if not INTEGRATION_KEY.fullmatch(integration):
        shown = integration if len(integration) <= 120 else integration[:100] + "..."
        raise InvalidRequest(
            f"invalid integration key {shown!r}: use 1 to 100 ASCII letters, digits, '_', '.'"
            " or '-', starting with a letter or digit",
            code="invalid_integration_key",
        )
    return integration


def check_files(integration: str, files: Mapping[str, str]) -> None:
    """Refuses bad integration keys, file names and sizes before anything runs."""
    check_integration_key(integration)
    if not files:
        raise InvalidRequest("no files to deploy", code="invalid_deploy")
    if len(files) > MAX_FILES:
        raise InvalidRequest(f"at most {MAX_FILES} files per integration", code="invalid_deploy")
    bad = [name for name in files if not FILE_NAME.fullmatch(name)]
    if bad:
        shown = ", ".join(repr(name[:60]) for name in sorted(bad)[:10])
        raise InvalidRequest(
            f"invalid file name(s) {shown}{' ...' if len(bad) > 10 else ''}: expected"
            " <python identifier>.py, ASCII, at most 100 characters before .py",
            code="invalid_deploy",
        )
    if sum(len(s.encode()) for s in files.values()) > MAX_TOTAL_BYTES:
        raise InvalidRequest(f"the files exceed {MAX_TOTAL_BYTES} bytes", code="invalid_deploy")


def code_hash(files: Mapping[str, str]) -> str:
    """sha256 over the sorted file names and contents."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


class Deployer:
    """Deploys integration folders into an environment."""

    def __init__(self, storage: DeployStorage, dispatcher: Dispatcher) -> None:
        self._storage = storage
        self._dispatcher = dispatcher

    def deploy(
        self,
        env: Environment,
        integration: str,
        files: Mapping[str, str],
        legacy: Mapping[str, Any],
        caller: Caller | None = None,
        *,
        plan: bool = False,
        only: Sequence[str] = (),
        refuse_removals: bool = False,
        allow_removing: Sequence[str] = (),
    ) -> list[FunctionRow]:
        """Describes and stores the functions; replaces the integration's previous ones.

        ``caller``: the Deploy call (its deadline and its end pass on to the describe run).
        ``plan``: describe only, store nothing (the rows that would be deployed). ``only``:
        deploy these functions from the files and keep the integration's others as deployed.
        ``refuse_removals``: store nothing if a deployed function would be removed that
        ``allow_removing`` does not name.

        Raises:
            NotFound: ``unknown_function``, a name in ``only`` the files do not define.
            InvalidRequest: ``deploy_removes_functions`` (details ``removed``), with
                ``refuse_removals``.
        """
        check_files(integration, files)
        unknown = set(legacy) - set(files)
        if unknown:
            raise InvalidRequest(
                f"legacy configuration for unknown file(s): {', '.join(sorted(unknown))}"
            )
        described = self._describe(env, files, legacy, caller)
        digest = code_hash(files)
        rows = [
            FunctionRow(
                name=name.removesuffix(".py"),
                kind=str(config["kind"]),
                version=str(config.get("version") or ""),
                description=str(config.get("description") or ""),
                config=config | ({"legacy_config": legacy[name]} if name in legacy else {}),
                files=dict(files),
                entry=name,
                code_hash=digest,
                integration_key=integration,
            )
            for name, config in sorted(described.items())
        ]
        if not rows:
            raise InvalidRequest(
                "no function found: a function file binds the result of create_sync, "
                "create_action or create_on_event",
                code="invalid_deploy",
            )
        if only:
            rows = self._only(env, integration, rows, only)
        if plan:
            return rows
        self._ensure_integration(env, integration)
        return self._storage.replace_functions(
            env.id,
            integration,
            rows,
            refuse_removals=refuse_removals,
            allow_removing=allow_removing,
        )

    def _only(
        self, env: Environment, integration: str, rows: list[FunctionRow], only: Sequence[str]
    ) -> list[FunctionRow]:
        """The named rows from the files, and the integration's other functions as deployed."""
        described = {row.name for row in rows}
        missing = sorted(set(only) - described)
        if missing:
            raise NotFound(
                f"no function {missing[0]!r} in the files of {integration!r}",
                code="unknown_function",
            )
        chosen = [row for row in rows if row.name in set(only)]
        kept = [
            row
            for row in self._storage.list_functions(env.id, integration)
            if row.name not in set(only)
        ]
        return sorted([*chosen, *kept], key=lambda row: row.name)

    def _ensure_integration(self, env: Environment, integration: str) -> None:
        try:
            self._storage.get_integration(env.id, integration)
        except NotFound:
            self._storage.upsert_integration(
                env.id,
                integration,
                provider=integration,
                base_url="",
                auth_mode="NONE",
                auth_config={},
            )

    def _describe(
        self,
        env: Environment,
        files: Mapping[str, str],
        legacy: Mapping[str, Any],
        caller: Caller | None,
    ) -> dict[str, Any]:
        order = RunOrder(
            kind="describe",
            env=env,
            run_id="describe-" + secrets.token_hex(8),
            entry="",
            files=files,
            limits=limits_for("describe", env.settings),
            legacy_by_file=legacy,
        )
        response = self._dispatcher.dispatch(order, caller)
        if response.ok:
            described = _json.loads(response.output_json, what="description", default={})
            return described if isinstance(described, dict) else {}
        error = from_proto(response.error)
        if error.code == "compile_error":
            raise CompileError(error.message, details={"errors": error.payload or []})
        where = f" ({error.file}, line {error.line})" if error.file else ""
        raise InvalidRequest(
            f"loading the functions failed{where}: {error.message}",
            code=error.code,
            details={"file": error.file, "line": error.line, "payload": error.payload},
        )
