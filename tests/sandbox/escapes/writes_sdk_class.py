# expect: sandbox_violation
# rule: write
# attack: patching an SDK class
from nango import create_action


def run(nango, input):
    from nango import ActionError
    ActionError.payload = None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
