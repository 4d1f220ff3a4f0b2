# expect: sandbox_violation
# attack: private names listed by dir() then read
from nango import create_action, HttpError, ActionError


def run(nango, input):
    names = [n for n in dir(nango) if n.startswith("_N")]
    return getattr(nango, names[0]) if names else getattr(nango, "_x")


action = create_action(description="escape attempt", exec=run)
