# expect: sandbox_violation
# rule: import
# attack: relative import of a private module name
from nango import create_action

from ._secrets import key


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
