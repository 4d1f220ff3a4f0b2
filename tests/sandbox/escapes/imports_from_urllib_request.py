# expect: sandbox_violation
# rule: import
# attack: from urllib import request
from nango import create_action

from urllib import request


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
