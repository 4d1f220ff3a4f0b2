"""Records the fixture of every example function from the local fake API.

    python examples/record.py

Starts `corral serve` on a temporary data directory and the fake API of examples/fake_api.py,
creates one integration and connection per example provider, dry-runs each example through the
orchestrator with `--save-responses`, and writes `<function>.test.json` beside each function.
`corral test examples/` replays them offline.
"""

from __future__ import annotations

import json
import pathlib
import sys
import tempfile
import threading
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corral.cli import Client  # noqa: E402
from corral.cli._dryrun_online import online_dryrun  # noqa: E402
from corral.v1 import orchestrator_pb2 as pb  # noqa: E402
from examples.fake_api import serve  # noqa: E402
from tests.support.service import running_service  # noqa: E402

EXAMPLES = pathlib.Path(__file__).resolve().parent

RUNS: list[tuple[str, str, dict[str, Any]]] = [
    ("github", "issues", {"metadata": {"repo": "acme/app"}}),
    ("github", "create_issue", {"input_value": {"owner": "acme", "repo": "app", "title": "Hello"}}),
    ("github", "check_access", {}),
    ("hubspot", "contacts", {}),
    (
        "hubspot",
        "create_contact",
        {"input_value": {"email": "ada@example.com", "first_name": "Ada"}},
    ),
    ("jira", "projects", {}),
    ("calendly", "events", {}),
    ("asana", "tasks", {"metadata": {"project_ids": ["P1", "P2"]}}),
]


def _connect(client: Client, integration: str, base_url: str) -> None:
    client.call(
        "CreateIntegration",
        pb.CreateIntegrationRequest(unique_key=integration, base_url=base_url, auth_mode="BEARER"),
    )
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration=integration,
            connection_id=integration,
            credentials_json=json.dumps({"type": "BEARER", "token": "example-token"}),
        ),
    )


def main() -> None:
    """Records every example's fixture; exits 1 if a run failed."""
    api = serve(0)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{api.server_address[1]}"
    failed = False
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_service(pathlib.Path(tmp) / "data") as svc,
        Client(svc.address, svc.secret_key) as client,
    ):
        for integration in sorted({name for name, _, _ in RUNS}):
            _connect(client, integration, base_url)
        for integration, name, options in RUNS:
            path = EXAMPLES / integration / f"{name}.py"
            fixture = path.with_suffix(".test.json")
            result = online_dryrun(client, path, integration, save_responses=fixture, **options)
            print(
                f"{'ok  ' if result['ok'] else 'FAIL'} {integration}/{name}", result["error"] or ""
            )
            failed |= not result["ok"]
    api.shutdown()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
