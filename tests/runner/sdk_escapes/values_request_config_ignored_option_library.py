# expect: sandbox_violation
# attack: a library class carried in a request option the SDK accepts and ignores
# (connection_id), kept in the HttpError's response config and read back afterwards
from nango import create_action, HttpError
from pydantic import Field


def run(nango, input):
    response = None
    try:
        nango.get(endpoint="/missing", connection_id=Field().metadata_lookup)
    except HttpError as error:
        response = error.response
    return response.config["connection_id"]["gt"]


action = create_action(description="escape attempt", exec=run)
