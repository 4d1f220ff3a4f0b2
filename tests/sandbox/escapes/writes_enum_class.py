# expect: sandbox_violation
# rule: write
# attack: rebinding an enum member
from nango import create_action


def run(nango, input):
    from enum import Enum


    class Color(Enum):
        RED = "red"


    Color.RED = "blue"


action = create_action(description="escape attempt", version="1.0.0", exec=run)
