"""Syncs the tasks of the Asana projects named in the connection's metadata, with deletes."""

from nango import create_sync
from pydantic import BaseModel


class Task(BaseModel):
    id: str
    name: str
    completed: bool
    project_id: str


def fetch(nango):
    project_ids = nango.get_metadata().get("project_ids") or []
    nango.track_deletes_start("Task")
    for project_id in project_ids:
        pages = nango.paginate(
            endpoint=f"/api/1.0/projects/{project_id}/tasks",
            params={"opt_fields": "name,completed"},
            paginate={"limit": 2},
        )
        for page in pages:
            tasks = [
                Task(
                    id=raw["gid"],
                    name=raw["name"],
                    completed=raw["completed"],
                    project_id=project_id,
                )
                for raw in page
            ]
            nango.batch_save(tasks, "Task")
    nango.track_deletes_end("Task")


sync = create_sync(
    description="Asana tasks of chosen projects",
    version="1.0.0",
    frequency="every hour",
    models={"Task": Task},
    exec=fetch,
)
