# expect: compile_error
# rule: private_name
# attack: a class named _write_
from nango import create_action

class _write_:
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
