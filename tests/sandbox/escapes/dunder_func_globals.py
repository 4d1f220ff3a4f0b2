# expect: compile_error
# rule: private_name
# attack: a function's __globals__
from nango import create_action


def run(nango, input):
    return run.__globals__


action = create_action(description="escape attempt", version="1.0.0", exec=run)
