# expect: sandbox_violation
# rule: import
# attack: create_model takes field types as strings
from nango import create_action

from pydantic import create_model


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
