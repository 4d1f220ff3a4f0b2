# expect: sandbox_violation
# rule: restricted_attribute
# attack: mro through getattr
from nango import create_action


def run(nango, input):
    return getattr(tuple, "mro")()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
