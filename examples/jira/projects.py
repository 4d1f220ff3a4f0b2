"""Syncs Jira projects with offset pagination (`startAt` / `maxResults`)."""

from nango import create_sync
from pydantic import BaseModel


class Project(BaseModel):
    id: str
    key: str
    name: str
    style: str | None = None


def fetch(nango):
    pages = nango.paginate(
        endpoint="/rest/api/3/project/search",
        paginate={
            "type": "offset",
            "offset_name_in_request": "startAt",
            "limit_name_in_request": "maxResults",
            "limit": 2,
            "response_path": "values",
        },
    )
    for page in pages:
        projects = []
        for raw in page:
            project = Project(id=str(raw["id"]), key=raw["key"], name=raw["name"])
            if raw.get("style"):
                project.style = raw["style"]
            projects.append(project)
        nango.batch_save(projects, "Project")


sync = create_sync(
    description="Jira projects",
    version="1.0.0",
    frequency="every day",
    models={"Project": Project},
    exec=fetch,
)
