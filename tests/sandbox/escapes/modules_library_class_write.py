# expect: sandbox_violation
# rule: write
# attack: patching a library class
from nango import create_action


def run(nango, input):
    import datetime
    datetime.datetime.now = None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
