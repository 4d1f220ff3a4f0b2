# expect: compile_error
# rule: private_name
# attack: __slots__ in a class body
from nango import create_action

class Thing:
    __slots__ = ()


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
