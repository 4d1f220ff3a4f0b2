# expect: compile_error
# rule: private_name
# attack: an annotated assignment to _write_
from nango import create_action

_write_: int = 1


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
