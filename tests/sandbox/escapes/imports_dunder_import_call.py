# expect: compile_error
# rule: private_name
# attack: __import__ called by name
from nango import create_action


def run(nango, input):
    return __import__("os")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
