# expect: sandbox_violation
# rule: write
# attack: replacing an SDK function
from nango import create_action


def run(nango, input):
    import nango as sdk
    sdk.create_action = None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
