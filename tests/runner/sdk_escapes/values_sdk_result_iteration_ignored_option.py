# expect: sandbox_violation
# attack: library classes inside the paginate settings, iterated back out of the response config
# (in provider_config_key, an option the SDK accepts and ignores, so the config keeps it)
from nango import create_action, HttpError, ActionError
from pydantic import Field


def run(nango, input):
    response = nango.get(endpoint="/ok", params={"q": "x"}, provider_config_key=dict(Field().metadata_lookup))
    for value in response.config["provider_config_key"].values():
        return value


action = create_action(description="escape attempt", exec=run)
