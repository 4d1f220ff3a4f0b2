# expect: runtime_error
# attack: (second red team) reversed() of an enum class returns the enum machinery's generator
# (EnumType.__reversed__), which reached function code as it was, with send and throw, instead of
# an iterator stand-in (iteration only): reversed()'s result was taken as plain. The run raises
# below when it holds the stand-in; holding the generator, it would return what send gave.
from enum import Enum

from nango import create_action


class Color(Enum):
    RED = 1
    BLUE = 2


def run(nango, input):
    found = reversed(Color)
    send = getattr(found, "send", None)
    if send is None:
        raise ValueError("reversed() gave an iterator stand-in")
    return {"sent": str(send(None))}


action = create_action(description="escape attempt", exec=run)
