# expect: sandbox_violation
# attack: changing the variant
from nango import create_action, HttpError, ActionError


def run(nango, input):
    nango.variant = "other"
    return nango.variant


action = create_action(description="escape attempt", exec=run)
