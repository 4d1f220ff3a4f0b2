# expect: compile_error
# rule: reserved_name
# attack: breakpoint()
from nango import create_action


def run(nango, input):
    breakpoint()


action = create_action(description="escape attempt", version="1.0.0", exec=run)
