# expect: compile_error
# rule: private_name
# attack: *args named _getiter_
from nango import create_action

def walk(*_getiter_):
    return 1


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
