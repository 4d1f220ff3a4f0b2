# expect: runtime_error
# attack: a library class stored in a request config, read back from the response
# (a header's value is read as text or a number before the request is sent: refused there)
from nango import create_action, HttpError, ActionError
from pydantic import Field


def run(nango, input):
    response = nango.get(endpoint="/ok", headers=Field().metadata_lookup)
    return response.config["headers"]["gt"]


action = create_action(description="escape attempt", exec=run)
