# expect: sandbox_violation
# rule: write
# attack: patching a builtin exception class
from nango import create_action


def run(nango, input):
    ValueError.extra = 1


action = create_action(description="escape attempt", version="1.0.0", exec=run)
