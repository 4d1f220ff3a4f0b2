# expect: sandbox_violation
# rule: import
# attack: sys.exc_info() for the traceback
from nango import create_action


def run(nango, input):
    import sys
    return sys.exc_info()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
