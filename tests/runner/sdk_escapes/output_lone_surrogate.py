# expect: runtime_error
# attack: a lone surrogate in the output cannot be encoded as UTF-8 (runner_error)
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return {"name": "\ud800"}


action = create_action(description="escape attempt", exec=run)
