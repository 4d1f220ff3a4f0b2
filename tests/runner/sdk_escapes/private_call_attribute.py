# expect: sandbox_violation
# attack: the channel held by the nango object
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return getattr(nango, "_Nango__call")


action = create_action(description="escape attempt", exec=run)
