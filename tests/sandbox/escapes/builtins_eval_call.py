# expect: compile_error
# rule: forbidden_call
# attack: eval called by name
from nango import create_action


def run(nango, input):
    return eval("1 + 1")


action = create_action(description="escape attempt", version="1.0.0", exec=run)
