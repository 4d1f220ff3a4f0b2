"""Validates a new GitHub connection: the token must reach /user and carry the `repo` scope."""

from nango import create_on_event

REQUIRED_SCOPES = ("repo",)


def validate(nango):
    response = nango.get(endpoint="/user")
    granted = str(response.headers.get("x-oauth-scopes", ""))
    scopes = {scope.strip() for scope in granted.split(",") if scope.strip()}
    missing = [scope for scope in REQUIRED_SCOPES if scope not in scopes]
    if missing:
        raise ValueError(f"the token lacks the scopes: {', '.join(missing)}")
    nango.log(f"connected as {response.data['login']}")


on_event = create_on_event(
    event="validate-connection",
    description="Checks that the token can read the user and has the repo scope",
    version="1.0.0",
    exec=validate,
)
