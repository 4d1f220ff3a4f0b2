# expect: compile_error
# rule: private_name
# attack: a lambda parameter named _write_
from nango import create_action

fix = lambda _write_: _write_


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
