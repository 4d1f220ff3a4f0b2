# expect: sandbox_violation
# rule: import
# attack: import ctypes
from nango import create_action

import ctypes


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
