# expect: sandbox_violation
# attack: catching a violation to succeed silently
from nango import create_action, HttpError, ActionError


def run(nango, input):
    try:
        getattr(nango, "_Nango__call")
    except Exception:
        pass
    return "looks fine"


action = create_action(description="escape attempt", exec=run)
