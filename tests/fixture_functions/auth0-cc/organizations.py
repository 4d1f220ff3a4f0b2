"""Organizations of an Auth0 tenant (client-credentials connection), with deletion tracking.

The Management API pages organizations by checkpoint cursor (``from`` / ``next``). The cursor
of the next page is saved as the checkpoint after every page, so an interrupted run resumes
where it stopped; a complete run clears it. Deletions are tracked only by a run that starts
from the first page: a resumed run has not seen every organization.
"""

from nango import create_sync
from pydantic import BaseModel


class Colors(BaseModel):
    primary: str | None = None
    page_background: str | None = None


class Branding(BaseModel):
    logo_url: str | None = None
    colors: Colors | None = None


class Organization(BaseModel):
    id: str
    name: str
    display_name: str | None = None
    metadata: dict[str, str | None] | None = None
    branding: Branding | None = None


class Checkpoint(BaseModel):
    cursor: str


PAGE_SIZE = 2


def without_nulls(value):
    """A copy of nested dicts without their null values (the API's null is our unset)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return value


def to_organization(raw):
    fields = {"id": raw["id"], "name": raw["name"]}
    for key in ("display_name", "branding"):
        if raw.get(key) is not None:
            fields[key] = without_nulls(raw[key])
    if raw.get("metadata") is not None:
        fields["metadata"] = raw["metadata"]  # null values are meaningful here: kept
    return Organization.model_validate(fields)


def fetch_organizations(nango):
    checkpoint = nango.get_checkpoint()
    full = checkpoint is None
    if full:
        nango.track_deletes_start("Organization")
    state = {"cursor": checkpoint["cursor"] if checkpoint else None}
    params = {"take": PAGE_SIZE}
    if state["cursor"]:
        params["from"] = state["cursor"]

    # on_page runs when the loop asks for the next page, so while a page is being saved the
    # cursor is the one that fetched it: a resumed run reads that page again (saving is
    # idempotent), never skips one.
    def remember(page):
        state["cursor"] = page["next_page_param"]

    pages = nango.paginate(
        # https://auth0.com/docs/api/management/v2/organizations/get-organizations
        endpoint="/api/v2/organizations",
        params=params,
        paginate={
            "type": "cursor",
            "cursor_name_in_request": "from",
            "cursor_path_in_response": "next",
            "response_path": "organizations",
            "limit_name_in_request": "take",
            "limit": PAGE_SIZE,
            "on_page": remember,
        },
        retries=3,
    )
    for page in pages:
        nango.batch_save([to_organization(raw) for raw in page], "Organization")
        if state["cursor"]:
            nango.save_checkpoint({"cursor": state["cursor"]})
    nango.clear_checkpoint()
    if full:
        nango.track_deletes_end("Organization")


sync = create_sync(
    description="Organizations of an Auth0 tenant",
    version="1.0.0",
    frequency="every hour",
    auto_start=True,
    models={"Organization": Organization},
    checkpoint=Checkpoint,
    exec=fetch_organizations,
)
