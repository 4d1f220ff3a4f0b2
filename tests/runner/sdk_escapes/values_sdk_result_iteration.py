# expect: sandbox_violation
# attack: library classes inside the paginate settings, iterated back out of the response config
from nango import create_action, HttpError, ActionError
from pydantic import Field


def run(nango, input):
    response = nango.get(endpoint="/ok", params={"q": "x"}, headers=dict(Field().metadata_lookup))
    for value in response.config["headers"].values():
        return value


action = create_action(description="escape attempt", exec=run)
