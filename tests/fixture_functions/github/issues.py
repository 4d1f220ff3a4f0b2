"""Issues of the user's GitHub repositories, incrementally, by last update.

The repositories come from the connection's metadata (``repositories``: ``[{owner, repo}]``)
or, when it names none, from every repository the user can reach. The issue list pages with
GitHub's ``Link`` header: the link type and its ``next`` relation are the provider catalogue's
pagination defaults for ``github``; only the page size is set here. Pull requests (which the
issues endpoint also lists) are skipped.
"""

from datetime import datetime, timedelta
from urllib.parse import quote

from nango import create_sync
from pydantic import BaseModel


class Label(BaseModel):
    id: int
    name: str
    color: str
    description: str | None = None


class Person(BaseModel):
    id: int
    login: str


class Issue(BaseModel):
    id: str
    node_id: str
    number: int
    state: str
    state_reason: str | None = None
    title: str
    body: str | None = None
    html_url: str
    repository_url: str
    user_id: int | None = None
    user_login: str | None = None
    labels: list[Label] | None = None
    assignee_id: int | None = None
    assignee_login: str | None = None
    assignees: list[Person] | None = None
    milestone_id: int | None = None
    milestone_number: int | None = None
    milestone_title: str | None = None
    milestone_state: str | None = None
    comments_count: int | None = None
    locked: bool | None = None
    created_at: str
    updated_at: str
    closed_at: str | None = None
    closed_by_id: int | None = None
    closed_by_login: str | None = None


class Checkpoint(BaseModel):
    updated_after: str


COPIED = (
    *("node_id", "number", "state", "state_reason", "title", "body", "html_url"),
    *("repository_url", "locked", "created_at", "updated_at", "closed_at"),
)
"""The issue's fields copied as they are when they have a value."""


def repositories(nango):
    """The ``(owner, repo)`` pairs to sync: from the metadata, else all the user's repositories."""
    metadata = nango.get_connection().get("metadata") or {}
    configured = metadata.get("repositories") or []
    if configured:
        return [(r["owner"], r["repo"]) for r in configured]
    found = []
    pages = nango.paginate(
        endpoint="/user/repos",
        params={"per_page": 100},
        paginate={
            "type": "offset",
            "offset_name_in_request": "page",
            "offset_start_value": 1,
            "offset_calculation_method": "per-page",
            "limit_name_in_request": "per_page",
            "limit": 100,
        },
        retries=3,
    )
    for page in pages:
        found.extend((r["owner"]["login"], r["name"]) for r in page if r.get("owner"))
    return found


def present(item, *names):
    """The ``names`` of ``item`` whose value is neither absent nor null."""
    return {name: item[name] for name in names if item.get(name) is not None}


def to_issue(item):
    """An Issue with only the fields GitHub gave a value (absent ones stay unset)."""
    fields = present(item, *COPIED)
    fields["id"] = str(item["id"])
    if item.get("comments") is not None:
        fields["comments_count"] = item["comments"]
    for prefix in ("user", "assignee", "closed_by"):
        if item.get(prefix):
            fields[prefix + "_id"] = item[prefix]["id"]
            fields[prefix + "_login"] = item[prefix]["login"]
    milestone = item.get("milestone")
    if milestone:
        for key in ("id", "number", "title", "state"):
            fields["milestone_" + key] = milestone[key]
    if item.get("labels") is not None:
        fields["labels"] = [
            present(label, "id", "name", "color", "description") for label in item["labels"]
        ]
    if item.get("assignees") is not None:
        fields["assignees"] = [{"id": a["id"], "login": a["login"]} for a in item["assignees"]]
    return Issue.model_validate(fields)


def later(current, candidate):
    """The later of two ISO timestamps (``current`` may be None)."""
    if current is None or parse_time(candidate) > parse_time(current):
        return candidate
    return current


def parse_time(text):
    """An ISO 8601 timestamp as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fetch_issues(nango):
    checkpoint = nango.get_checkpoint()
    since = checkpoint["updated_after"] if checkpoint else None
    repos = repositories(nango)
    if not repos:
        nango.log("No repositories configured or reachable, nothing to sync")
        return
    latest = None
    for owner, repo in repos:
        params = {"state": "all", "sort": "updated", "direction": "asc"}
        if since:
            params["since"] = since
        pages = nango.paginate(
            endpoint=f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/issues",
            params=params,
            paginate={"limit_name_in_request": "per_page", "limit": 100},
            retries=3,
        )
        for page in pages:
            items = page or []  # link paging yields every page, even an empty body
            for item in items:
                latest = later(latest, item["updated_at"])
            issues = [to_issue(item) for item in items if "pull_request" not in item]
            if issues:
                nango.batch_save(issues, "Issue")
    if latest:
        # One second of overlap: an issue updated in the same second is fetched again.
        overlap = parse_time(latest) - timedelta(seconds=1)
        nango.save_checkpoint({"updated_after": overlap.isoformat()})


sync = create_sync(
    description="Issues of the user's GitHub repositories, incrementally by last update",
    version="1.0.0",
    frequency="every hour",
    auto_start=True,
    models={"Issue": Issue},
    checkpoint=Checkpoint,
    scopes=["repo"],
    exec=fetch_issues,
)
