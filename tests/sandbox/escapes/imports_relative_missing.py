# expect: sandbox_violation
# rule: import
# attack: relative import of a file that is not deployed
from nango import create_action

from .credentials import token


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
