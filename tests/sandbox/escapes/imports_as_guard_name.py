# expect: compile_error
# rule: private_name
# attack: import binding a guard name
from nango import create_action

import json as _getattr_


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
