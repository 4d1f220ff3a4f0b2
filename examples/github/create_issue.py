"""Creates an issue in a repository and returns its id, number and URL."""

from nango import ActionError, create_action

from .models import CreatedIssue, CreateIssueInput


def run(nango, input):
    if input.title.strip().lower().startswith("[blocked]"):
        raise ActionError({"reason": "blocked_title", "title": input.title})
    response = nango.post(
        endpoint=f"/repos/{input.owner}/{input.repo}/issues",
        data={"title": input.title, "body": input.body, "labels": input.labels},
    )
    issue = response.data
    nango.log(f"created issue #{issue['number']}", level="info")
    return CreatedIssue(id=str(issue["id"]), number=issue["number"], url=issue["html_url"])


action = create_action(
    description="Create an issue in a GitHub repository",
    version="1.0.0",
    input=CreateIssueInput,
    output=CreatedIssue,
    exec=run,
)
