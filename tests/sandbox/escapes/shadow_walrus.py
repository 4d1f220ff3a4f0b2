# expect: compile_error
# rule: private_name
# attack: an assignment expression binding _write_
from nango import create_action


def run(nango, input):
    return (_write_ := 1)


action = create_action(description="escape attempt", version="1.0.0", exec=run)
