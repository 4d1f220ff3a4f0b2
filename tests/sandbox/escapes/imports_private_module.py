# expect: compile_error
# rule: private_name
# attack: import of a private C module
from nango import create_action

import _thread


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
