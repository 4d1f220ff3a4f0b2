"""Syncs the issues of one repository (named in the connection's metadata), with deletes."""

from nango import create_sync

from .models import Issue


def fetch(nango):
    metadata = nango.get_metadata()
    repo = metadata.get("repo", "acme/app")
    nango.track_deletes_start("Issue")
    pages = nango.paginate(
        endpoint=f"/repos/{repo}/issues",
        params={"state": "all"},
        paginate={
            "type": "link",
            "link_rel_in_response_header": "next",
            "limit_name_in_request": "per_page",
            "limit": 100,
        },
    )
    for page in pages:
        issues = [
            Issue(
                id=str(i["id"]),
                number=i["number"],
                title=i["title"],
                state=i["state"],
                url=i["html_url"],
            )
            for i in page
        ]
        nango.batch_save(issues, "Issue")
    nango.track_deletes_end("Issue")


sync = create_sync(
    description="Issues of a GitHub repository",
    version="1.0.0",
    frequency="every hour",
    auto_start=True,
    models={"Issue": Issue},
    exec=fetch,
)
