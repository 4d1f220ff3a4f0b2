# expect: sandbox_violation
# rule: write
# attack: deleting an SDK method
from nango import create_action


def run(nango, input):
    delattr(nango, "log")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
