# expect: compile_error
# rule: reserved_name
# attack: the name builtins
from nango import create_action


def run(nango, input):
    return builtins


action = create_action(description="escape attempt", version="1.0.0", exec=run)
