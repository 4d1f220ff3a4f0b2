# expect: sandbox_violation
# attack: vars() of the SDK object
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return vars(nango)


action = create_action(description="escape attempt", exec=run)
