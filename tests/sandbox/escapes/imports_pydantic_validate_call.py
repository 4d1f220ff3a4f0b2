# expect: sandbox_violation
# rule: import
# attack: validate_call evaluates annotations with function globals
from nango import create_action

from pydantic import validate_call


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
