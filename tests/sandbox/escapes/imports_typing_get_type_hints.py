# expect: sandbox_violation
# rule: import
# attack: typing.get_type_hints evaluates strings with eval
from nango import create_action

from typing import get_type_hints


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
