# expect: sandbox_violation
# rule: write
# attack: patching the type builtin
from nango import create_action


def run(nango, input):
    type.evil = 1


action = create_action(description="escape attempt", version="1.0.0", exec=run)
