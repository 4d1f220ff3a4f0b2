# expect: sandbox_violation
# rule: write
# attack: a function replacing a name in its own module facade
from nango import create_action


def run(nango, input):
    import nango
    nango.ActionError = ValueError


action = create_action(description="escape attempt", version="1.0.0", exec=run)
