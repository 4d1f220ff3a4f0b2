# expect: runtime_error
# attack: an ActionError payload that is not JSON
from nango import create_action, HttpError, ActionError


def run(nango, input):
    raise ActionError(nango)


action = create_action(description="escape attempt", exec=run)
