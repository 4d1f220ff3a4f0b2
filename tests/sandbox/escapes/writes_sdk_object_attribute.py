# expect: sandbox_violation
# rule: write
# attack: replacing a method on the SDK object
from nango import create_action


def run(nango, input):
    nango.log = None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
