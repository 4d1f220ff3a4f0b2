# expect: runtime_error
# attack: an ActionError payload that JSON-converts but is not strict JSON (Infinity)
from nango import create_action, HttpError, ActionError


def run(nango, input):
    raise ActionError({"limit": float("inf")})


action = create_action(description="escape attempt", exec=run)
