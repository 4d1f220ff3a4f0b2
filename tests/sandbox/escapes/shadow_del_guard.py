# expect: compile_error
# rule: private_name
# attack: del _getiter_
from nango import create_action


def run(nango, input):
    del _getiter_


action = create_action(description="escape attempt", version="1.0.0", exec=run)
