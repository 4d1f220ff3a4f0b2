# expect: sandbox_violation
# attack: a str enum that redefines a method of str (the checks call str's methods on names)
from enum import Enum

from nango import create_action


class Name(str, Enum):
    CLASS = "__class__"

    def startswith(self, prefix):
        return False


def run(nango, input):
    return getattr((), Name.CLASS)


action = create_action(description="escape attempt", exec=run)
