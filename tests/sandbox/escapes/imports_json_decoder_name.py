# expect: sandbox_violation
# rule: import
# attack: from json import decoder (a submodule with sys inside)
from nango import create_action

from json import decoder


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
