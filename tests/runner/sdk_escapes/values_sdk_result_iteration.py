# expect: runtime_error
# attack: library classes inside the paginate settings, iterated back out of the response config
# (a header's value is read as text or a number before the request is sent: refused there)
from nango import create_action, HttpError, ActionError
from pydantic import Field


def run(nango, input):
    response = nango.get(endpoint="/ok", params={"q": "x"}, headers=dict(Field().metadata_lookup))
    for value in response.config["headers"].values():
        return value


action = create_action(description="escape attempt", exec=run)
