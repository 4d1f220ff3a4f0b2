# expect: sandbox_violation
# attack: replacing an SDK method
from nango import create_action, HttpError, ActionError


def run(nango, input):
    nango.get = lambda **kw: None
    return 1


action = create_action(description="escape attempt", exec=run)
