# expect: sandbox_violation
# rule: import
# attack: import os at module level
from nango import create_action

import os


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
