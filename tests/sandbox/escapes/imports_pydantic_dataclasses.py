# expect: sandbox_violation
# rule: import
# attack: pydantic.dataclasses is not an allowed module
from nango import create_action

from pydantic.dataclasses import dataclass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)
