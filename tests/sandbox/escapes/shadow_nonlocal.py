# expect: compile_error
# rule: unsupported_syntax
# attack: nonlocal
from nango import create_action


def run(nango, input):
    value = 1


    def inner():
        nonlocal value
        value = 2


action = create_action(description="escape attempt", version="1.0.0", exec=run)
