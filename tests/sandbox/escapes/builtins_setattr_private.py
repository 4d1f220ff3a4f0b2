# expect: sandbox_violation
# rule: private_attribute
# attack: setattr with a private name
from nango import create_action


def run(nango, input):
    setattr(nango, "_secret", "x")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
