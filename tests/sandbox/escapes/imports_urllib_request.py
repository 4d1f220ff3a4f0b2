# expect: sandbox_violation
# rule: import
# attack: urllib.request does network I/O
from nango import create_action

import urllib.request


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
