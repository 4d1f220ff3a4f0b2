# expect: sandbox_violation
# rule: private_attribute
# attack: getattr on the guarded getattr itself
from nango import create_action


def run(nango, input):
    return getattr(getattr, "__self__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
