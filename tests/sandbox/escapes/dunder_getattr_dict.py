# expect: sandbox_violation
# rule: private_attribute
# attack: the SDK object's __dict__
from nango import create_action


def run(nango, input):
    return getattr(nango, "__dict__")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
