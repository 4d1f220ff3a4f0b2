# expect: sandbox_violation
# attack: a library class carried into an HttpError's response config, read in the handler
from nango import create_action, HttpError, ActionError
from pydantic import Field


def run(nango, input):
    try:
        nango.get(endpoint="/missing", headers=Field().metadata_lookup)
    except HttpError as error:
        return [value for value in error.response.config["headers"].values()]


action = create_action(description="escape attempt", exec=run)
