"""The functions the benchmark deploys (one integration, ``bench``), and their setup.

Each times nothing itself but what it is told to repeat, except ``calls``: it times each SDK call
with the sandbox's clock (``datetime``, microseconds), so a callback's cost is measured without
the run around it.
"""

from __future__ import annotations

import json

from corral.cli import Client
from corral.v1 import orchestrator_pb2 as pb

ECHO = """
from nango import create_action
def run(nango, input):
    return {'echo': input}
action = create_action(description='echo', exec=run)
"""

CALLS = """
import datetime
from nango import create_action
def run(nango, input):
    out = []
    for _ in range(input['n']):
        start = datetime.datetime.now()
        if input['what'] == 'metadata':
            nango.get_metadata()
        else:
            nango.get(endpoint='/ping')
        out.append((datetime.datetime.now() - start).total_seconds())
    return out
action = create_action(description='times n SDK calls', exec=run)
"""

ISSUE = """
from nango import create_sync
from pydantic import BaseModel
class Issue(BaseModel):
    id: str
    title: str
    labels: list[str] = []
"""
"""The model both syncs save."""

SAVES = (
    ISSUE
    + """def fetch(nango):
    count = nango.get_metadata()['count']
    for first in range(0, count, 1000):
        nango.batch_save([{'id': str(n), 'title': f'Issue {n} a', 'labels': ['a', 'b']}
                          for n in range(first, min(count, first + 1000))], 'Issue')
sync = create_sync(description='saves count records', frequency='every day', auto_start=False,
                   models={'Issue': Issue}, exec=fetch)
"""
)

PAGES = (
    ISSUE
    + """def fetch(nango):
    for page in nango.paginate(endpoint='/issues', params={'page': 1},
                               paginate={'type': 'link', 'link_rel_in_response_header': 'next'}):
        nango.batch_save(page, 'Issue')
sync = create_sync(description='link-paginated issues', frequency='every day', auto_start=False,
                   models={'Issue': Issue}, exec=fetch)
"""
)

FILES = {"echo.py": ECHO, "calls.py": CALLS, "saves.py": SAVES, "pages.py": PAGES}


def deploy(client: Client, base_url: str) -> None:
    """Deploys the functions in ``client``'s environment, pointed at ``base_url``."""
    client.call("Deploy", pb.DeployRequest(integration="bench", files=FILES))
    client.call(
        "CreateIntegration", pb.CreateIntegrationRequest(unique_key="bench", base_url=base_url)
    )
    connect(client, "c")


def connect(client: Client, connection: str, metadata: dict[str, object] | None = None) -> None:
    """A connection of the ``bench`` integration."""
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(
            integration="bench",
            connection_id=connection,
            metadata_json=json.dumps(metadata or {}),
        ),
    )


def action(client: Client, name: str, value: object, connection: str = "c") -> object:
    """Runs an action to its end; its output."""
    request = pb.TriggerActionRequest(
        action_name=name, connection_id=connection, input_json=json.dumps(value)
    )
    return json.loads(client.call("TriggerAction", request).output_json)


def sync(client: Client, name: str, connection: str) -> None:
    """Runs a sync to its end."""
    client.call("TriggerSync", pb.TriggerSyncRequest(sync_name=name, connection_id=connection))
