# expect: sandbox_violation
# attack: catch a violation, then end with an ordinary ActionError so the run reports no violation
from nango import create_action, HttpError, ActionError


def run(nango, input):
    try:
        getattr(nango, "_Nango__call")
    except Exception:
        pass
    raise ActionError({"reason": "nothing to see"})


action = create_action(description="escape attempt", exec=run)
