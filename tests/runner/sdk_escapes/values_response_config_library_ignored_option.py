# expect: sandbox_violation
# attack: a library class stored in a request config, read back from the response
# (in connection_id, an option the SDK accepts and ignores, so the config keeps it)
from nango import create_action, HttpError, ActionError
from pydantic import Field


def run(nango, input):
    response = nango.get(endpoint="/ok", connection_id=Field().metadata_lookup)
    return response.config["connection_id"]["gt"]


action = create_action(description="escape attempt", exec=run)
