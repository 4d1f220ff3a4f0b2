# expect: sandbox_violation
# rule: write
# attack: attributes on a function
from nango import create_action


def run(nango, input):
    run.cache = {}


action = create_action(description="escape attempt", version="1.0.0", exec=run)
