# expect: runtime_error
# attack: NaN in the arguments of an SDK call (the call frame cannot be written)
from nango import create_action, HttpError, ActionError


def run(nango, input):
    nango.log("value", {"x": float("nan")})
    return "logged"


action = create_action(description="escape attempt", exec=run)
