# expect: runtime_error
# attack: ExceptionGroup is not provided (except* advisory)
from nango import create_action


def run(nango, input):
    return ExceptionGroup("x", [ValueError("v")])


action = create_action(description="escape attempt", version="1.0.0", exec=run)
