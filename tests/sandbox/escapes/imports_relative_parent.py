# expect: sandbox_violation
# rule: import
# attack: relative import out of the integration folder
from nango import create_action

from .. import config


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
