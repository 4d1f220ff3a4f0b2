# expect: runtime_error
# attack: a lone surrogate in an exception message breaks the error frame (runner_error)
from nango import create_action, HttpError, ActionError


def run(nango, input):
    raise ValueError("bad \udfff value")


action = create_action(description="escape attempt", exec=run)
