# expect: compile_error
# rule: reserved_name
# attack: rebinding printed
from nango import create_action

printed = None


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
