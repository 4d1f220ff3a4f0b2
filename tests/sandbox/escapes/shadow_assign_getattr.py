# expect: compile_error
# rule: private_name
# attack: rebinding _getattr_
from nango import create_action

_getattr_ = getattr


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
