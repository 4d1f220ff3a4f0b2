# expect: sandbox_violation
# attack: rewriting the nango module for later code
from nango import create_action, HttpError, ActionError


def run(nango, input):
    import nango as sdk

    sdk.create_action = None
    return 1


action = create_action(description="escape attempt", exec=run)
