# expect: runtime_error
# attack: a library class carried into an HttpError's response config, read back afterwards
# (a header's value is read as text or a number before the request is sent: refused there)
from nango import create_action, HttpError, ActionError
from pydantic import Field


def run(nango, input):
    response = None
    try:
        nango.get(endpoint="/missing", headers=Field().metadata_lookup)
    except HttpError as error:
        response = error.response
    return response.config["headers"]["gt"]


action = create_action(description="escape attempt", exec=run)
