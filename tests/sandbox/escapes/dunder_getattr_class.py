# expect: sandbox_violation
# rule: private_attribute
# attack: getattr with a dunder name
from nango import create_action


def run(nango, input):
    return getattr((), "__class__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
